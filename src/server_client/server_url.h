// ServerUrl: where a pgshift server answers, as the operator gives it (`--server URL`):
// "http://HOST:PORT" or "https://HOST:PORT", optionally with a trailing "/". Nothing else is
// accepted in it: a path would be silently ignored, and credentials in a URL are visible in
// `ps` and shell history, so a user:password@ part is refused.
#pragma once

#include <string>

#include "common/status.h"

namespace pgshift {

struct ServerUrl {
  bool tls = false;
  std::string host_port;  // "127.0.0.1:8080", "[::1]:8080"

  // kInvalidArgument naming what is wrong (the URL itself is shown only without a userinfo).
  static Result<ServerUrl> Parse(const std::string& url);
  std::string ToString() const { return (tls ? "https://" : "http://") + host_port; }
};

}  // namespace pgshift
