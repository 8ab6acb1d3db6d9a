// Check "privileges": can the connecting roles see everything the checks and the migration
// need? Without superuser or pg_monitor, pg_stat_replication and pg_stat_wal_receiver show
// NULLs and some settings are hidden, so the other checks would judge half-read facts.
#include "checks/check_functions.h"

namespace pgshift {
namespace {

nlohmann::json RoleEvidence(const ClusterFacts& f) {
  return {{"endpoint", f.label},
          {"user", f.user},
          {"superuser", f.superuser},
          {"pg_monitor", f.pg_monitor},
          {"replication", f.replication}};
}

}  // namespace

CheckResult CheckPrivileges(const ClusterFacts& source, const ClusterFacts& target) {
  CheckResult r{.name = "privileges", .query = facts_sql::kPrivileges};
  std::string advice;
  for (const ClusterFacts* f : {&source, &target}) {
    r.evidence[f->role] = RoleEvidence(*f);
    if (!f->superuser && !f->pg_monitor) {
      r.verdict = Verdict::kFail;
      advice += (advice.empty() ? "" : "; ") + f->role + ": GRANT pg_monitor TO " + f->user +
                " (it cannot read replication status or all settings)";
    } else if (!f->superuser) {
      if (r.verdict == Verdict::kPass) r.verdict = Verdict::kWarn;
      advice += (advice.empty() ? "" : "; ") + f->role + ": " + f->user +
                " is not a superuser; fencing and promotion need one (or an equivalent role)";
    }
  }
  r.advice = advice;
  return r;
}

}  // namespace pgshift
