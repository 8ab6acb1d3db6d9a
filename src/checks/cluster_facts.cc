// Reads ClusterFacts from a server with plain SQL; works on primaries and standbys alike.
#include "checks/cluster_facts.h"

namespace pgshift {

namespace facts_sql {
const char* const kIdentity =
    "SELECT s.system_identifier::text AS system_identifier, "
    "current_setting('server_version_num')::int AS server_version_num, "
    "current_setting('server_version') AS server_version, pg_is_in_recovery() AS in_recovery, "
    "CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint()) "
    "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END "
    "AS timeline FROM pg_control_system() s";
const char* const kPrivileges =
    "SELECT current_user AS usr, r.rolsuper, r.rolreplication, "
    "pg_has_role(current_user, 'pg_monitor', 'member') AS pg_monitor "
    "FROM pg_roles r WHERE r.rolname = current_user";
const char* const kSettings =
    "SELECT name, setting, coalesce(unit, '') AS unit, pending_restart FROM pg_settings";
const char* const kDatabases =
    "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname";
const char* const kInstalledExtensions =
    "SELECT extname, extversion FROM pg_extension ORDER BY extname";
const char* const kAvailableExtensionVersions =
    "SELECT name, version FROM pg_available_extension_versions";
const char* const kSlots =
    "SELECT slot_name, slot_type, coalesce(plugin, '') AS plugin, "
    "coalesce(database, '') AS database, active, coalesce(wal_status, '') AS wal_status, "
    "pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END, restart_lsn)::bigint AS retained_bytes "
    "FROM pg_replication_slots ORDER BY slot_name";
const char* const kWalSenders =
    "SELECT coalesce(application_name, '') AS application_name, "
    "coalesce(host(client_addr), '') AS client_addr, coalesce(state, '') AS state "
    "FROM pg_stat_replication ORDER BY pid";
const char* const kWalReceiver =
    "SELECT coalesce(status, '') AS status, coalesce(sender_host, '') AS sender_host, "
    "coalesce(sender_port, 0) AS sender_port, coalesce(received_tli, 0) AS received_tli, "
    "coalesce(slot_name, '') AS slot_name FROM pg_stat_wal_receiver";
const char* const kClientBackends =
    "SELECT pid, coalesce(usename, '') AS usename, coalesce(datname, '') AS datname, "
    "coalesce(application_name, '') AS application_name, "
    "coalesce(host(client_addr), 'local') AS client_addr, "
    "coalesce(to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') "
    "AS backend_start FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY backend_start";
}  // namespace facts_sql

namespace {

Status ReadIdentity(PgConnection& c, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult r, c.Query(facts_sql::kIdentity));
  if (r.rows() != 1) return Internal(c.info().Label() + ": pg_control_system() returned no row");
  f.system_identifier = r.Get(0, "system_identifier");
  f.server_version_num = static_cast<int>(r.GetInt(0, "server_version_num"));
  f.server_version = r.Get(0, "server_version");
  f.in_recovery = r.GetBool(0, "in_recovery");
  f.timeline = static_cast<uint32_t>(r.GetInt(0, "timeline"));
  return Status::Ok();
}

Status ReadPrivileges(PgConnection& c, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult r, c.Query(facts_sql::kPrivileges));
  if (r.rows() != 1) return Internal(c.info().Label() + ": current role not in pg_roles");
  f.user = r.Get(0, "usr");
  f.superuser = r.GetBool(0, "rolsuper");
  f.replication = r.GetBool(0, "rolreplication");
  f.pg_monitor = r.GetBool(0, "pg_monitor");
  return Status::Ok();
}

Status ReadSettings(PgConnection& c, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult r, c.Query(facts_sql::kSettings));
  for (int i = 0; i < r.rows(); ++i) {
    f.settings[r.Get(i, "name")] =
        SettingFact{r.Get(i, "setting"), r.Get(i, "unit"), r.GetBool(i, "pending_restart")};
  }
  return Status::Ok();
}

Status ReadAvailableExtensions(PgConnection& c, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult r, c.Query(facts_sql::kAvailableExtensionVersions));
  for (int i = 0; i < r.rows(); ++i) {
    f.available_extension_versions.emplace(r.Get(i, "name"), r.Get(i, "version"));
  }
  return Status::Ok();
}

Status ReadExtensionsOf(PgConnection& c, const std::string& db, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult r, c.Query(facts_sql::kInstalledExtensions));
  for (int i = 0; i < r.rows(); ++i) {
    f.installed_extensions.push_back({db, r.Get(i, "extname"), r.Get(i, "extversion")});
  }
  return Status::Ok();
}

// Extensions live per database, so each database that accepts connections is visited. A
// database the role cannot enter is recorded, not fatal: the check reports what it missed.
Status ReadInstalledExtensions(PgConnection& c, const ConnInfo& info, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult dbs, c.Query(facts_sql::kDatabases));
  for (int i = 0; i < dbs.rows(); ++i) {
    std::string db = dbs.Get(i, "datname");
    auto other = PgConnection::Connect(info.With("dbname", db));
    if (!other.ok()) {
      f.unreadable_databases.push_back(db + ": " + other.status().message());
      continue;
    }
    Status st = ReadExtensionsOf(*other, db, f);
    if (!st.ok()) f.unreadable_databases.push_back(db + ": " + st.message());
  }
  return Status::Ok();
}

Status ReadSlots(PgConnection& c, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult r, c.Query(facts_sql::kSlots));
  for (int i = 0; i < r.rows(); ++i) {
    SlotFact s;
    s.name = r.Get(i, "slot_name");
    s.type = r.Get(i, "slot_type");
    s.plugin = r.Get(i, "plugin");
    s.database = r.Get(i, "database");
    s.active = r.GetBool(i, "active");
    s.wal_status = r.Get(i, "wal_status");
    if (auto b = r.GetOpt(i, "retained_bytes")) s.retained_bytes = std::stoull(*b);
    f.slots.push_back(std::move(s));
  }
  return Status::Ok();
}

Status ReadReplication(PgConnection& c, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult senders, c.Query(facts_sql::kWalSenders));
  for (int i = 0; i < senders.rows(); ++i) {
    f.wal_senders.push_back({senders.Get(i, "application_name"), senders.Get(i, "client_addr"),
                             senders.Get(i, "state")});
  }
  ASSIGN_OR_RETURN(PgResult recv, c.Query(facts_sql::kWalReceiver));
  if (recv.rows() > 0) {
    f.wal_receiver = WalReceiverFact{recv.Get(0, "status"), recv.Get(0, "sender_host"),
                                     static_cast<int>(recv.GetInt(0, "sender_port")),
                                     static_cast<uint32_t>(recv.GetInt(0, "received_tli")),
                                     recv.Get(0, "slot_name")};
  }
  return Status::Ok();
}

Status ReadClientBackends(PgConnection& c, ClusterFacts& f) {
  ASSIGN_OR_RETURN(PgResult r, c.Query(facts_sql::kClientBackends));
  for (int i = 0; i < r.rows(); ++i) {
    f.client_backends.push_back({static_cast<int>(r.GetInt(i, "pid")), r.Get(i, "usename"),
                                 r.Get(i, "datname"), r.Get(i, "application_name"),
                                 r.Get(i, "client_addr"), r.Get(i, "backend_start")});
  }
  return Status::Ok();
}

}  // namespace

std::string ClusterFacts::Setting(const std::string& name) const {
  auto it = settings.find(name);
  return it == settings.end() ? "" : it->second.value;
}

Result<ClusterFacts> ReadClusterFacts(PgConnection& conn, const ConnInfo& info,
                                      bool with_installed_extensions) {
  ClusterFacts f;
  f.role = info.role();
  f.label = info.Label();
  RETURN_IF_ERROR(ReadIdentity(conn, f));
  RETURN_IF_ERROR(ReadPrivileges(conn, f));
  RETURN_IF_ERROR(ReadSettings(conn, f));
  RETURN_IF_ERROR(ReadAvailableExtensions(conn, f));
  if (with_installed_extensions) RETURN_IF_ERROR(ReadInstalledExtensions(conn, info, f));
  RETURN_IF_ERROR(ReadSlots(conn, f));
  RETURN_IF_ERROR(ReadReplication(conn, f));
  RETURN_IF_ERROR(ReadClientBackends(conn, f));
  return f;
}

}  // namespace pgshift
