// Check "settings_diff": settings that differ between source and target, other than those
// that must differ (paths, ports, a standby's recovery settings, read-only-ness while in
// recovery) and those other checks judge. A difference is not wrong by itself, but the
// target will serve production with its own values after the cutover (warn).
#include <set>

#include "checks/check_functions.h"

namespace pgshift {
namespace {

const std::set<std::string>& Ignored() {
  static const std::set<std::string> kIgnored = {
      // Where the server and its files live.
      "port", "listen_addresses", "data_directory", "config_file", "hba_file", "ident_file",
      "unix_socket_directories", "external_pid_file", "cluster_name", "log_directory",
      "ssl_cert_file", "ssl_key_file", "ssl_ca_file", "ssl_crl_file", "ssl_crl_dir",
      // A standby's own recovery state.
      "primary_conninfo", "primary_slot_name", "transaction_read_only", "in_hot_standby",
      "hot_standby", "hot_standby_feedback", "recovery_target", "recovery_target_lsn",
      "recovery_target_name", "recovery_target_time", "recovery_target_xid",
      "recovery_target_timeline", "recovery_target_action", "recovery_target_inclusive",
      "restore_command", "archive_cleanup_command", "recovery_end_command", "promote_trigger_file",
      "wal_receiver_status_interval", "wal_retrieve_retry_interval",
      // Judged by their own checks.
      "max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
      "max_locks_per_transaction", "wal_level", "shared_preload_libraries", "server_version",
      "server_version_num",
      // The session pgshift itself opened.
      "application_name"};
  return kIgnored;
}

}  // namespace

CheckResult CheckSettingsDiff(const ClusterFacts& source, const ClusterFacts& target) {
  nlohmann::json differ = nlohmann::json::array();
  nlohmann::json only_source = nlohmann::json::array();
  for (const auto& [name, s] : source.settings) {
    if (Ignored().count(name)) continue;
    auto it = target.settings.find(name);
    if (it == target.settings.end()) {
      only_source.push_back(name);
      continue;
    }
    const SettingFact& t = it->second;
    if (s.value != t.value) {
      differ.push_back({{"setting", name},
                        {"source", s.value},
                        {"target", t.value},
                        {"unit", s.unit},
                        {"target_pending_restart", t.pending_restart}});
    }
  }
  CheckResult r{.name = "settings_diff",
                .evidence = {{"compared", source.settings.size()},
                             {"ignored", Ignored()},
                             {"differ", differ},
                             {"missing_on_target", only_source}},
                .query = facts_sql::kSettings};
  if (!differ.empty() || !only_source.empty()) {
    r.verdict = Verdict::kWarn;
    std::string names;
    for (const auto& d : differ)
      names += (names.empty() ? "" : ", ") + d["setting"].get<std::string>();
    for (const auto& n : only_source) names += (names.empty() ? "" : ", ") + n.get<std::string>();
    r.advice = "review " + names +
               ": the target keeps its own values after the cutover; align them with ALTER "
               "SYSTEM on the target if the source's are the ones production needs";
  }
  return r;
}

}  // namespace pgshift
