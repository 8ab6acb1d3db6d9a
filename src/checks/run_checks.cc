// RunChecks: connect, read facts, sample the window, then judge. Problems reaching or reading
// an endpoint become failing checks, so an operator always gets a report to act on.
#include "checks/check.h"
#include "checks/check_functions.h"

namespace pgshift {
namespace {

Status ValidateOptions(const CheckOptions& o) {
  if (o.window.count() < 0) return InvalidArgument("check window must not be negative");
  if (o.sample_interval.count() <= 0) {
    return InvalidArgument("check sample interval must be positive (got " +
                           std::to_string(o.sample_interval.count()) + " ms)");
  }
  if (o.max_lag_seconds < 0) return InvalidArgument("--max-lag-seconds must not be negative");
  return Status::Ok();
}

// Facts that could not be read: a privilege problem is named as such, anything else (the
// server went away mid-read) is reported as what could not be judged.
CheckReport Unreadable(const ConnInfo& who, const Status& st) {
  CheckResult r = NotJudged(st.code() == Code::kPermissionDenied ? "privileges" : "cluster_facts",
                            st.message(), "see the error");
  r.evidence["endpoint"] = who.Label();
  if (st.code() == Code::kPermissionDenied) {
    r.advice = who.role() + ": GRANT pg_monitor to the connecting role (or connect as a superuser)";
  }
  CheckReport report;
  report.checks.push_back(std::move(r));
  return report;
}

void JudgeFacts(const ClusterFacts& s, const ClusterFacts& t, const CheckOptions& o,
                CheckReport& report) {
  report.checks.push_back(CheckPrivileges(s, t));
  report.checks.push_back(CheckReplicaIdentity(s, t));
  report.checks.push_back(CheckMajorVersion(s, t));
  report.checks.push_back(CheckHotStandbyParameters(s, t));
  report.checks.push_back(CheckWalLevel(s, t));
  report.checks.push_back(CheckSharedPreloadLibraries(s, t));
  report.checks.push_back(CheckSettingsDiff(s, t));
  report.checks.push_back(CheckExtensionParity(s, t));
  report.checks.push_back(CheckSlotHealth(s, o.stale_slot_bytes));
}

}  // namespace

Result<CheckReport> RunChecks(const ConnInfo& source, const ConnInfo& target,
                              const CheckOptions& options, Clock& clock) {
  RETURN_IF_ERROR(ValidateOptions(options));
  if (options.progress) options.progress("connecting", 0);
  auto s_conn = PgConnection::Connect(source);
  auto t_conn = PgConnection::Connect(target);
  CheckReport report;
  report.checks.push_back(CheckConnectivity({{source.role(), source.Label(), s_conn.status()},
                                             {target.role(), target.Label(), t_conn.status()}}));
  if (!s_conn.ok() || !t_conn.ok()) return report;

  if (options.progress) options.progress("reading facts", 0);
  auto s_facts = ReadClusterFacts(*s_conn, source, /*with_installed_extensions=*/true);
  if (!s_facts.ok()) return Unreadable(source, s_facts.status());
  auto t_facts = ReadClusterFacts(*t_conn, target, /*with_installed_extensions=*/false);
  if (!t_facts.ok()) return Unreadable(target, t_facts.status());
  JudgeFacts(*s_facts, *t_facts, options, report);

  auto samples = SampleReplication(*s_conn, *t_conn, options, clock);
  if (!samples.ok()) {
    std::string q = std::string(window_sql::kSource) + "; " + window_sql::kTarget;
    report.checks.push_back(NotJudged("wal_rates", samples.status().message(), q));
    report.checks.push_back(NotJudged("replication_lag", samples.status().message(), q));
    return report;
  }
  report.checks.push_back(CheckWalRates(*samples));
  report.checks.push_back(
      CheckReplicationLag(*samples, options.max_lag_bytes, options.max_lag_seconds));
  return report;
}

}  // namespace pgshift
