// MigrationControl: the one API through which operators act on migrations (the CLI today, the
// HTTP server later): start, read status, list, request a cutover or a rollback, and run (or
// follow another runner). Phases are judged here, typed (CanCutover, CanRollback), never by
// comparing display strings; what a request writes into a migration is decided here, not by
// the caller. Rendering is the caller's: status comes back as the public JSON
// (MigrationStatusJson), which never holds a secret.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "migration/migration_spec.h"
#include "migration/phase.h"
#include "store/migration_store.h"
#include "workflow/engine.h"
#include "workflow/progress.h"
#include "workflow/start_migration.h"

namespace pgshift {

// Whether an operator may ask for a cutover / a rollback in phase `p`.
bool CanCutover(Phase p);   // not once finished, rolled back or failed
bool CanRollback(Phase p);  // until completed or rolled back

struct RollbackRequest {
  // After promotion: rewind the old source behind the new primary first, so that the
  // target's writes are not lost.
  bool keep_target_writes = false;
};

struct RunRequest {
  bool auto_cutover = false;  // request the cutover first (`migrate run --auto-cutover`)
  bool wait_at_gate = true;   // at the gate: wait for a cutover request, or return
  // When set and true: return after the turn in progress, lease released (a server stopping).
  const std::atomic<bool>* stop = nullptr;
};

// One line of `migrate list`.
struct MigrationSummary {
  std::string name;
  Phase phase = Phase::kCreated;
  std::string state;
  std::string source;  // labels, no secret
  std::string target;
  nlohmann::json ToJson() const;
};

// How a run ended: the migration's status after it, and the outcome (ok, or why it stopped:
// the engine's error, or kFailedPrecondition when it ended failed or rolled back on an error).
struct RunReport {
  nlohmann::json status;
  Status outcome;
  bool followed = false;  // another live runner drove it (in part)
};

class MigrationControl {
 public:
  MigrationControl(MigrationStore& store, Clock& clock, EngineSeams seams = {});

  // Validates and records a new migration (StartMigration).
  Result<MigrationSpec> Start(const StartRequest& request);
  // kNotFound naming the migration.
  Result<nlohmann::json> StatusJson(const std::string& name);
  Result<std::vector<MigrationSummary>> List();
  // kFailedPrecondition "<name> is <phase>; a cutover is not possible now" unless CanCutover.
  Status RequestCutover(const std::string& name);
  // kFailedPrecondition "<name> is <phase>; nothing to roll back" unless CanRollback.
  Status RequestRollback(const std::string& name, const RollbackRequest& request);

  // Runs the migration in this process until it ends (or waits at the gate, see request).
  // When another live runner holds it, calls `following(holder)` once and follows it: polls
  // until the migration ends, and takes over and runs it if that runner's lease lapses or it
  // dies on this host. An error before anything ran (unknown migration, store down).
  Result<RunReport> Run(const std::string& name, const RunRequest& request, ProgressSink& progress,
                        const std::function<void(const std::string& holder)>& following = {});

 private:
  MigrationStore& store_;
  Clock& clock_;
  EngineSeams seams_;
};

}  // namespace pgshift
