// RunChecks: connect, read facts, sample the window, then judge. Problems reaching or reading
// an endpoint become failing checks, so an operator always gets a report to act on.
#include "checks/check.h"
#include "checks/check_functions.h"

namespace pgshift {
namespace {

Status ValidateOptions(const CheckOptions& o) {
  if (o.window.count() < 0) return InvalidArgument("check window must not be negative");
  if (o.probe_timeout.count() <= 0) {
    return InvalidArgument("check probe timeout must be positive (got " +
                           std::to_string(o.probe_timeout.count()) + " ms)");
  }
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

// The probe writes on the source and may wait its whole timeout: only worth it when the facts
// already say "a standby of this cluster".
WalProbe ProbeIfReplica(PgConnection& source, PgConnection& target, const ClusterFacts& s,
                        const ClusterFacts& t, const CheckOptions& o, Clock& clock) {
  if (s.system_identifier != t.system_identifier || s.in_recovery || !t.in_recovery ||
      !t.wal_receiver || t.wal_receiver->status != "streaming") {
    return WalProbe{.detail =
                        "not attempted: the target is not a streaming standby of a "
                        "cluster with the source's identity"};
  }
  if (o.progress) o.progress("probing the WAL path", 0);
  return ProbeWalPath(source, target, o.probe_timeout, clock);
}

void JudgeFacts(const ClusterFacts& s, const ClusterFacts& t, const WalProbe& probe,
                const CheckOptions& o, CheckReport& report) {
  report.checks.push_back(CheckPrivileges(s, t));
  report.checks.push_back(CheckReplicaIdentity(s, t, probe));
  report.checks.push_back(CheckMajorVersion(s, t));
  report.checks.push_back(CheckHotStandbyParameters(s, t));
  report.checks.push_back(CheckWalLevel(s, t));
  report.checks.push_back(CheckSharedPreloadLibraries(s, t));
  report.checks.push_back(CheckSettingsDiff(s, t));
  report.checks.push_back(CheckExtensionParity(s, t));
  report.checks.push_back(CheckSlotHealth(s, o.stale_slot_bytes));
  if (o.proxy_roles) {
    report.checks.push_back(CheckClientsOutsideProxy(s, *o.proxy_roles, o.block_direct_clients));
  }
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
  WalProbe probe = ProbeIfReplica(*s_conn, *t_conn, *s_facts, *t_facts, options, clock);
  JudgeFacts(*s_facts, *t_facts, probe, options, report);

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
