// ClusterFacts: everything the checks judge about one server, read once by SQL. The checks
// are pure functions of these facts, so a unit test can hand-build them; the queries are
// public so each check can cite the SQL its evidence came from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

struct SettingFact {
  std::string value;  // pg_settings.setting, in the setting's base unit
  std::string unit;   // "" when unitless
  bool pending_restart = false;
};

struct InstalledExtension {
  std::string database;
  std::string name;
  std::string version;
};

struct SlotFact {
  std::string name;
  std::string type;  // "physical" or "logical"
  std::string plugin;
  std::string database;
  bool active = false;
  std::string wal_status;                  // reserved, extended, unreserved, lost ("" if unknown)
  std::optional<uint64_t> retained_bytes;  // WAL held back from restart_lsn; none if unreserved
};

// A walsender on a primary (pg_stat_replication).
struct WalSenderFact {
  std::string application_name;
  std::string client_addr;
  std::string state;  // "streaming", "catchup", ... ("" when the role may not see it)
};

// The WAL receiver of a standby (pg_stat_wal_receiver).
struct WalReceiverFact {
  std::string status;  // "streaming", "waiting", ...
  std::string sender_host;
  int sender_port = 0;
  uint32_t received_tli = 0;
  std::string slot_name;
};

// A client backend (pg_stat_activity), other than the reading session's own.
struct ClientBackendFact {
  int pid = 0;
  std::string user;
  std::string database;
  std::string application_name;
  std::string client_addr;  // "local" for a Unix socket
  std::string backend_start;
};

struct ClusterFacts {
  std::string role;   // "source" or "target"
  std::string label;  // ConnInfo::Label(): names the endpoint without secrets
  std::string system_identifier;
  int server_version_num = 0;
  std::string server_version;
  bool in_recovery = false;
  uint32_t timeline = 0;
  // Privileges of the connecting role.
  std::string user;
  bool superuser = false;
  bool pg_monitor = false;
  bool replication = false;
  std::map<std::string, SettingFact> settings;
  // Installed extensions in every database that allows connections (read on the source).
  std::vector<InstalledExtension> installed_extensions;
  std::vector<std::string> unreadable_databases;  // with the reason, e.g. "db1: <error>"
  // (name, version) pairs this server's installation can install.
  std::set<std::pair<std::string, std::string>> available_extension_versions;
  std::vector<SlotFact> slots;
  std::vector<WalSenderFact> wal_senders;
  std::optional<WalReceiverFact> wal_receiver;
  std::vector<ClientBackendFact> client_backends;

  // The setting's value, "" when the server did not show it.
  std::string Setting(const std::string& name) const;
};

namespace facts_sql {
extern const char* const kIdentity;
extern const char* const kPrivileges;
extern const char* const kSettings;
extern const char* const kDatabases;
extern const char* const kInstalledExtensions;
extern const char* const kAvailableExtensionVersions;
extern const char* const kSlots;
extern const char* const kWalSenders;
extern const char* const kWalReceiver;
extern const char* const kClientBackends;
}  // namespace facts_sql

// Reads the facts of the server `conn` is connected to. `info` is the same endpoint, used to
// reach its other databases when `with_installed_extensions` (the source). Errors are those of
// the queries (kPermissionDenied when the role may not read something).
Result<ClusterFacts> ReadClusterFacts(PgConnection& conn, const ConnInfo& info,
                                      bool with_installed_extensions);

}  // namespace pgshift
