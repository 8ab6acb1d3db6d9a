// Check "replica_identity": is the target a physical replica of this source, streaming from
// it now? Copying a cluster keeps its system identifier, so a different one means an
// independent cluster that no amount of waiting will turn into a replica; the same one is not
// proof, since a copy started as a primary keeps it too: the WAL probe settles that.
#include "checks/check_functions.h"

namespace pgshift {
namespace {

constexpr const char* kWalProbeSql =
    "source: SELECT pg_logical_emit_message(true, 'pgshift.replica_probe', <token>); target: "
    "SELECT position(<token> IN pg_read_binary_file('pg_wal/<file>', <offset>, <length>)) > 0";

constexpr const char* kProbeFunctions =
    "pg_logical_emit_message(boolean, text, text), "
    "pg_read_binary_file(text, bigint, bigint, boolean)";

int StreamingSenders(const ClusterFacts& source) {
  int n = 0;
  for (const auto& s : source.wal_senders) n += s.state == "streaming" ? 1 : 0;
  return n;
}

// The target's timeline: what its WAL receiver receives, else its last restartpoint's.
uint32_t TargetTimeline(const ClusterFacts& target) {
  if (target.wal_receiver && target.wal_receiver->received_tli != 0) {
    return target.wal_receiver->received_tli;
  }
  return target.timeline;
}

nlohmann::json Evidence(const ClusterFacts& source, const ClusterFacts& target,
                        const WalProbe& probe) {
  nlohmann::json senders = nlohmann::json::array();
  for (const auto& s : source.wal_senders) {
    senders.push_back({{"application_name", s.application_name},
                       {"client_addr", s.client_addr},
                       {"state", s.state}});
  }
  nlohmann::json e = {{"source_system_identifier", source.system_identifier},
                      {"target_system_identifier", target.system_identifier},
                      {"target_in_recovery", target.in_recovery},
                      {"source_timeline", source.timeline},
                      {"target_timeline", TargetTimeline(target)},
                      {"source_wal_senders", senders},
                      {"wal_probe", probe.ToJson()}};
  if (target.wal_receiver) {
    e["target_wal_receiver"] = {{"status", target.wal_receiver->status},
                                {"sender_host", target.wal_receiver->sender_host},
                                {"sender_port", target.wal_receiver->sender_port},
                                {"slot_name", target.wal_receiver->slot_name}};
  } else {
    e["target_wal_receiver"] = nullptr;
  }
  return e;
}

// The first reason the target is not a streaming replica of the source, with its advice;
// empty when it is one.
std::pair<std::string, std::string> Problem(const ClusterFacts& source, const ClusterFacts& target,
                                            const WalProbe& probe) {
  if (source.system_identifier != target.system_identifier) {
    return {"different system identifiers (" + source.system_identifier + " vs " +
                target.system_identifier + "): the target is an independent cluster",
            "build the target from the source with pg_basebackup or a storage snapshot "
            "taken between pg_backup_start and pg_backup_stop"};
  }
  if (source.in_recovery) {
    return {"the source is in recovery (a standby)",
            "point --source at the primary of the cluster"};
  }
  if (!target.in_recovery) {
    return {"the target is not in recovery: it is a primary (already promoted?)",
            "rebuild the target as a standby of the source"};
  }
  if (!target.wal_receiver || target.wal_receiver->status != "streaming") {
    std::string st = target.wal_receiver ? target.wal_receiver->status : "no WAL receiver";
    if (st.empty()) {
      return {"the target's WAL receiver status is hidden from this role",
              "connect as a superuser or a member of pg_monitor (see privileges)"};
    }
    return {"the target is not streaming (" + st + ")",
            "check primary_conninfo on the target and its server log; it must stream from "
            "the source"};
  }
  if (StreamingSenders(source) == 0) {
    return {"the source has no streaming walsender in pg_stat_replication",
            "the target streams from somewhere else (a cascade?); point it at the source"};
  }
  if (source.timeline != TargetTimeline(target)) {
    return {"timelines differ (source " + std::to_string(source.timeline) + ", target " +
                std::to_string(TargetTimeline(target)) + ")",
            "rebuild the target from the source's current timeline"};
  }
  if (probe.outcome == WalProbe::Outcome::kNotFound) {
    return {"the target's WAL at " + probe.token_lsn + " (" + probe.wal_file +
                ") is not what the source wrote there: it replicates another cluster with the "
                "same system identifier (a copy of the source started as a primary?)",
            "rebuild the target from the source itself, and point its primary_conninfo at the "
            "source"};
  }
  if (probe.outcome == WalProbe::Outcome::kNotReceived) {
    return {"WAL the source wrote at " + probe.token_lsn + " did not reach the target (" +
                probe.detail + "): it streams from another server, or lags that far behind",
            "point the target's primary_conninfo at the source; if it only lags, see "
            "replication_lag"};
  }
  return {"", ""};
}

}  // namespace

CheckResult CheckReplicaIdentity(const ClusterFacts& source, const ClusterFacts& target,
                                 const WalProbe& probe) {
  CheckResult r{.name = "replica_identity",
                .evidence = Evidence(source, target, probe),
                .query = std::string(facts_sql::kIdentity) + "; " + facts_sql::kWalSenders + "; " +
                         facts_sql::kWalReceiver + "; " + kWalProbeSql};
  auto [problem, advice] = Problem(source, target, probe);
  if (!problem.empty()) {
    r.verdict = Verdict::kFail;
    r.evidence["problem"] = problem;
    r.advice = advice;
  } else if (probe.outcome == WalProbe::Outcome::kNotRun) {
    r.verdict = Verdict::kWarn;
    r.evidence["problem"] =
        "could not prove that the target holds the source's WAL: " + probe.detail;
    r.advice = "on the source (grants replicate to the target): GRANT EXECUTE ON FUNCTION " +
               std::string(kProbeFunctions) + " TO " + target.user +
               "; or check by hand that the target streams from the source";
  }
  return r;
}

}  // namespace pgshift
