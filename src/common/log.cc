// spdlog set-up.
#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>

namespace pgshift {

void InitLogging() {
  auto logger = spdlog::stderr_color_mt("pgshift");
  const char* lvl = std::getenv("PGSHIFT_LOG");
  logger->set_level(spdlog::level::from_str(lvl && *lvl ? lvl : "warn"));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
}

}  // namespace pgshift
