// HealthRates: commit and rollback rates, and mean statement latency where pg_stat_statements
// is installed, as sampled over a window (workflow/health_baseline.h samples them). A plain
// value here, below the workflow, because a migration records the source's rates as its
// baseline (MigrationFacts) and verify compares the target against them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

namespace pgshift {

struct HealthRates {
  double commits_per_s = 0;
  double rollbacks_per_s = 0;
  std::optional<double> mean_statement_ms;  // pg_stat_statements, when installed
  nlohmann::json ToJson() const;
  // Lenient: a missing number reads as 0 (MigrationFacts checks the recorded form strictly).
  static HealthRates FromJson(const nlohmann::json& j);
  bool operator==(const HealthRates&) const = default;
};

}  // namespace pgshift
