// Engine: runs one migration, level-triggered. Each turn reads where the migration stands and
// runs the step for that phase; a crash anywhere is followed by the same loop, which resumes
// from the recorded phase. Retries live here and only here: kUnavailable is retried with
// backoff, kAborted re-reads and re-plans, anything else during the cutover rolls it back and
// before it stops the migration for the operator.
#pragma once

#include <string>

#include "common/clock.h"
#include "store/migration_store.h"
#include "migration/phase.h"
#include "workflow/progress.h"

namespace pgshift {

struct EngineOptions {
  // At the cutover gate: wait for `migrate cutover` (true) or return (false).
  bool wait_at_gate = true;
};

class Engine {
 public:
  Engine(MigrationStore& store, std::string name, Clock& clock, ProgressSink& progress)
      : store_(store), name_(std::move(name)), clock_(clock), progress_(progress) {}

  // Runs until the migration is completed, rolled back or failed (or waits at the gate, see
  // options). Only one engine runs a migration at a time: a second gets kAborted at once.
  // Returns the phase it stopped in; an error when it stopped on one (the migration's row
  // says what happened and what to do).
  Result<Phase> Run(const EngineOptions& options);

 private:
  MigrationStore& store_;
  std::string name_;
  Clock& clock_;
  ProgressSink& progress_;
};

// Stops other runners of the same migration; released when the process dies (kill -9).
class RunnerLock {
 public:
  static Result<RunnerLock> Acquire(const std::string& store_path, const std::string& name);
  RunnerLock(RunnerLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ~RunnerLock();

 private:
  explicit RunnerLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace pgshift
