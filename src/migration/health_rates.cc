// HealthRates as JSON: {"commits_per_s","rollbacks_per_s"[,"mean_statement_ms"]}.
#include "migration/health_rates.h"

namespace pgshift {

nlohmann::json HealthRates::ToJson() const {
  nlohmann::json j = {{"commits_per_s", commits_per_s}, {"rollbacks_per_s", rollbacks_per_s}};
  if (mean_statement_ms) j["mean_statement_ms"] = *mean_statement_ms;
  return j;
}

HealthRates HealthRates::FromJson(const nlohmann::json& j) {
  HealthRates h;
  if (!j.is_object()) return h;
  h.commits_per_s = j.value("commits_per_s", 0.0);
  h.rollbacks_per_s = j.value("rollbacks_per_s", 0.0);
  if (j.contains("mean_statement_ms")) h.mean_statement_ms = j["mean_statement_ms"].get<double>();
  return h;
}

}  // namespace pgshift
