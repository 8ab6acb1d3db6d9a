// Logging through spdlog, to stderr. Log lines never carry connection strings with
// passwords: code logs ConnInfo::Label(), not raw conninfo.
#pragma once

#include <spdlog/spdlog.h>

namespace pgshift {

// Level from PGSHIFT_LOG (trace, debug, info, warn, error; default warn so that progress
// displays stay readable).
void InitLogging();

}  // namespace pgshift
