// Reading and writing files inside a PostgreSQL data directory the way the server expects:
// owned by the postgres user (when pgshift runs as root), mode 0600, replaced atomically so a
// crash leaves the old or the new content, never half of it.
#pragma once

#include <string>

#include "common/status.h"

namespace pgshift {

Result<std::string> ReadTextFile(const std::string& path);
Status WriteDataDirFile(const std::string& path, const std::string& content);

}  // namespace pgshift
