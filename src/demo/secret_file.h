// The demo's secrets: random ones, and files that hold them, readable by their owner only
// from before the secret is written (the proxy and the server warn about secret files others
// may read).
#pragma once

#include <string>

#include "common/status.h"

namespace pgshift::demo {

// 32 hex characters from std::random_device.
std::string RandomSecret();
// Writes `secret` and a newline to `path`, mode 0600. kUnavailable when it cannot.
Status WriteSecretFile(const std::string& path, const std::string& secret);

}  // namespace pgshift::demo
