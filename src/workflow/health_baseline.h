// HealthBaseline: commit and rollback rates, and mean statement latency where
// pg_stat_statements is installed, sampled over a window. Taken on the source before the
// cutover and on the target after it, so verify can say whether the new primary behaves like
// the old one.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/clock.h"
#include "migration/health_rates.h"
#include "pg/connection.h"

namespace pgshift {

Result<HealthRates> SampleHealth(PgConnection& c, std::chrono::milliseconds window, Clock& clock);

// Verdict text for the report: empty when the target is within bounds of the baseline.
std::vector<std::string> CompareHealth(const HealthRates& baseline, const HealthRates& now);

}  // namespace pgshift
