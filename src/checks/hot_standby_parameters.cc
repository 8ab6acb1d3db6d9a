// Check "hot_standby_parameters": PostgreSQL requires these on a standby to be at least the
// primary's values (it sizes shared structures by them); a lower value pauses replay or
// stops the standby the moment the primary's value reaches it.
#include <cstdlib>

#include "checks/check_functions.h"

namespace pgshift {

CheckResult CheckHotStandbyParameters(const ClusterFacts& source, const ClusterFacts& target) {
  static const char* const kNames[] = {"max_connections", "max_worker_processes", "max_wal_senders",
                                       "max_prepared_transactions", "max_locks_per_transaction"};
  CheckResult r{.name = "hot_standby_parameters",
                .query = std::string(facts_sql::kSettings) +
                         " WHERE name IN ('max_connections', "
                         "'max_worker_processes', 'max_wal_senders', "
                         "'max_prepared_transactions', 'max_locks_per_transaction')"};
  nlohmann::json too_low = nlohmann::json::array();
  std::string advice;
  for (const char* name : kNames) {
    std::string s = source.Setting(name);
    std::string t = target.Setting(name);
    r.evidence["settings"][name] = {{"source", s}, {"target", t}};
    if (s.empty() || t.empty()) continue;
    if (std::atoll(t.c_str()) < std::atoll(s.c_str())) {
      too_low.push_back({{"setting", name}, {"source", s}, {"target", t}});
      advice += (advice.empty() ? "" : "; ") + std::string("ALTER SYSTEM SET ") + name + " = " + s +
                " on the target";
    }
  }
  r.evidence["too_low_on_target"] = too_low;
  if (!too_low.empty()) {
    r.verdict = Verdict::kFail;
    r.advice = advice + ", then restart the target";
  }
  return r;
}

}  // namespace pgshift
