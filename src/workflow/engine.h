// Engine: runs migrations, level-triggered, one turn at a time. A turn reads where a migration
// stands and runs at most one step for that phase; a crash anywhere is followed by more turns,
// which resume from the recorded phase. Retries live here and only here: kUnavailable is
// retried with backoff, kAborted re-reads and re-plans, anything else during the cutover rolls
// it back and before it stops the migration for the operator.
//
// Ownership (I7): before its first turn on a migration the engine takes the migration's runner
// lease from the store (taking it over at once from a dead runner on this host, or from any
// runner whose lease expired), renews it on a background tick, checks it before every step
// and (through the MigrationContext's LeaseGate) before every action a step takes on a
// cluster or a proxy, and every store write of its steps carries it. A turn that finds the
// lease lost stops: it returns kAborted and the engine forgets the migration, acting no more.
//
// The held window (docs/chaos.md finding 1): before each cutover step the turn makes sure the
// sessions are held by a pause this process confirmed within its lease (the context's
// PauseLease, pause_lease.h, fed by the router's pauses and renewals, the keeper's included);
// a pause lost to a failed renewal, to a restart, or to this process being frozen past the
// lease is taken again before the step acts. Not possible again: before the promotion the
// cutover rolls back, after it the turn is retried as kUnavailable.
//
// Per-migration state (the MigrationContext with its connections, retry counters, held
// snapshots, the early switch) lives in the engine keyed by migration name, so that a
// scheduler can drive many migrations through one engine, turn by turn.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "migration/phase.h"
#include "store/migration_store.h"
#include "workflow/migration_context.h"
#include "workflow/progress.h"
#include "workflow/runner_identity.h"
#include "workflow/steps.h"

namespace pgshift {

struct EngineOptions {
  // At the cutover gate: wait for `migrate cutover` (true) or return (false).
  bool wait_at_gate = true;
  // When set and true: Run returns after the turn in progress (the server stopping), with
  // that turn's outcome, and releases the lease.
  const std::atomic<bool>* stop = nullptr;
};

// The seams a unit test replaces; the defaults are the real ones.
struct EngineSeams {
  std::string owner;  // the lease owner; empty: a new one per engine (NewRunnerOwner)
  const RunnerLiveness* liveness = &RunnerLiveness::Real();
  std::chrono::milliseconds runner_ttl{15000};
  // Builds a migration's router (default: MakeRouter from the spec).
  MigrationContext::RouterFactory router_factory;
  // The step for a phase (default: the real steps); nullptr for "no step".
  using StepFn = std::function<Result<StepOutcome>(MigrationContext&)>;
  std::function<StepFn(Phase)> steps;
  // The progress sink of one migration (a scheduler driving many migrations through one
  // engine tells them apart); it must outlive the engine's state of that migration. Default
  // (unset or null): the engine's sink.
  std::function<ProgressSink*(const std::string& name)> progress_for;
};

// What a turn did.
struct TurnOutcome {
  enum class Kind {
    kMoved,          // a step ran (or a transient error will be retried): turn again
    kWaitingAtGate,  // ready for cutover, waiting for the operator's request
    kTerminal,       // completed or rolled back
    kHeldElsewhere,  // another live runner holds the lease: nothing was done
  };
  Kind kind = Kind::kMoved;
  Phase phase = Phase::kCreated;  // where the migration stands after the turn
  std::string holder;             // kHeldElsewhere: the holder's owner string
  double holder_expires_at = 0;   // kHeldElsewhere: when its lease lapses unless renewed
};

class Engine {
 public:
  Engine(MigrationStore& store, Clock& clock, ProgressSink& progress, EngineSeams seams = {});
  // Releases every runner lease still held.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Takes (or checks) the lease, then runs at most one step of `name`. An error when the
  // migration stopped on one (the record says what happened and what to do), kAborted when the
  // lease was lost (this engine then forgets the migration).
  Result<TurnOutcome> Turn(const std::string& name);

  // Turns until the migration is terminal, stops on an error, waits at the gate (returned
  // only when !options.wait_at_gate), or is held by another runner. Releases the lease when it
  // returns.
  Result<TurnOutcome> Run(const std::string& name, const EngineOptions& options);

  // Drops the in-memory state of `name` and releases its lease.
  void Forget(const std::string& name);

 private:
  struct Migration;
  // The migration's state, taking its lease first if needed; null (with `held` filled) when
  // another live runner holds it.
  Result<std::shared_ptr<Migration>> Acquire(const std::string& name, TurnOutcome* held);
  Result<TurnOutcome> TurnLocked(Migration& m);
  void KeepLeases();

  MigrationStore& store_;
  Clock& clock_;
  ProgressSink& progress_;
  EngineSeams seams_;
  std::mutex mu_;  // guards migrations_ (the map, not a migration's own state)
  std::map<std::string, std::shared_ptr<Migration>> migrations_;
  bool stop_ = false;
  std::thread keeper_;
};

}  // namespace pgshift
