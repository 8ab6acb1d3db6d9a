// SlotUsage: one query over pg_replication_slots with the retained WAL computed server-side.
#include "cdc/slot_usage.h"

namespace pgshift {

nlohmann::json SlotUsage::ToJson() const {
  nlohmann::json j{
      {"name", name},
      {"type", type},
      {"plugin", plugin.empty() ? nlohmann::json(nullptr) : nlohmann::json(plugin)},
      {"database", database.empty() ? nlohmann::json(nullptr) : nlohmann::json(database)},
      {"active", active},
      {"active_pid", nullptr},
      {"temporary", temporary},
      {"wal_status", wal_status},
      {"retained_wal_bytes", nullptr},
      {"retained_wal_pretty", retained_wal_pretty}};
  if (active_pid) j["active_pid"] = *active_pid;
  if (retained_wal_bytes) j["retained_wal_bytes"] = *retained_wal_bytes;
  return j;
}

Result<std::vector<SlotUsage>> ListSlotUsage(PgConnection& c) {
  ASSIGN_OR_RETURN(
      PgResult r,
      c.Query("WITH here AS (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
              "ELSE pg_current_wal_lsn() END AS lsn) "
              "SELECT slot_name, slot_type, plugin, database, active, active_pid, temporary, "
              "wal_status, pg_wal_lsn_diff(here.lsn, restart_lsn)::bigint AS retained, "
              "pg_size_pretty(pg_wal_lsn_diff(here.lsn, restart_lsn)) AS retained_pretty "
              "FROM pg_replication_slots, here ORDER BY slot_name"));
  std::vector<SlotUsage> out;
  for (int i = 0; i < r.rows(); ++i) {
    SlotUsage u;
    u.name = r.Get(i, "slot_name");
    u.type = r.Get(i, "slot_type");
    u.plugin = r.GetOpt(i, "plugin").value_or("");
    u.database = r.GetOpt(i, "database").value_or("");
    u.active = r.GetBool(i, "active");
    u.temporary = r.GetBool(i, "temporary");
    if (auto pid = r.GetOpt(i, "active_pid")) u.active_pid = std::stoi(*pid);
    u.wal_status = r.GetOpt(i, "wal_status").value_or("");
    if (auto b = r.GetOpt(i, "retained")) u.retained_wal_bytes = std::stoll(*b);
    u.retained_wal_pretty = r.GetOpt(i, "retained_pretty").value_or("-");
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace pgshift
