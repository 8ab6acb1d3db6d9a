// MigrationSpec: what the operator asked for when the migration was started. Stored as JSON
// in the migration's row; connection strings given on the command line may hold passwords, so
// ToPublicJson() is the only form that leaves the process. A migration made by the server
// holds no password: its conninfos come without one and the spec keeps references
// (source_password, target_password), which ResolvePasswords() reads when the engine connects.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"
#include "migration/secret_ref.h"
#include "pg/conninfo.h"

namespace pgshift {

struct MigrationSpec {
  std::string name;
  ConnInfo source;
  ConnInfo target;                 // for "local", filled in from target_dir/target_port
  std::string platform = "local";  // "local" (pgshift builds the target) or "external"
  std::string target_dir;          // local: where pg_basebackup puts the replica
  int target_port = 0;             // local: the replica's port
  std::string source_data_dir;     // local: for the pg_hba fence and pg_rewind
  bool auto_cutover = false;

  // Gates.
  std::chrono::milliseconds check_window{5000};
  uint64_t max_lag_bytes = 16ull << 20;
  double max_lag_seconds = 5.0;
  std::chrono::milliseconds validate_timeout{std::chrono::minutes(10)};

  // Cutover bounds.
  std::chrono::milliseconds pause_deadline{5000};
  std::chrono::milliseconds pause_lease{30000};
  std::chrono::milliseconds fence_deadline{10000};
  std::chrono::milliseconds drain_timeout{30000};
  // How long CDC consumers get to confirm while traffic is held or fenced (a rollback's drain).
  std::chrono::milliseconds cdc_timeout{30000};
  // How long they get while traffic flows: after the switch (verify) and before a rollback's
  // pause. Waiting there costs only WAL kept on the old source, so a consumer restarted or
  // briefly stalled is waited for rather than stopping the migration (docs/chaos.md 12, 13).
  std::chrono::milliseconds cdc_catch_up_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds promote_timeout{60000};
  std::optional<std::string> fence_command;
  std::optional<std::string> unfence_command;
  // External platform: the operator's optional commands that keep clients out of the target
  // from before its promotion until its logical slots exist (DESIGN.md I8).
  std::optional<std::string> target_fence_command;
  std::optional<std::string> target_unfence_command;
  // Clients connected to the source around the proxies (check clients_outside_proxy): "warn"
  // reports them, "block" makes them a failed gate.
  std::string direct_clients = "warn";

  nlohmann::json router = {{"kind", "none"}};
  bool rollback_keeps_target_writes = false;  // rewind the old source behind the new primary
  // Where the passwords live when the conninfos hold none (a migration made by the server).
  std::optional<SecretRef> source_password;
  std::optional<SecretRef> target_password;

  nlohmann::json ToJson() const;  // complete, with secrets: for the store only
  nlohmann::json ToPublicJson() const;
  static Result<MigrationSpec> FromJson(const nlohmann::json& j);
};

// Puts the passwords the references name into source and target (a conninfo that already
// holds a password keeps it). kInvalidArgument naming the reference (path or variable) when
// one cannot be read; never the value.
Status ResolvePasswords(MigrationSpec& spec);

}  // namespace pgshift
