// LeaseGate: the check of the runner lease that every action a step takes on a cluster or a
// proxy passes first (issue 13, I7). The engine checks the lease before each step, but a step
// takes several actions (pause, fence, promote, switch...) and the lease can be taken over
// between two of them (this server paused, partitioned, slow): so the MigrationContext hands
// steps a Platform and a Router that ask the gate before each call (LeaseCheckedPlatform,
// LeaseCheckedRouter), and asks it itself before handing out a connection to source or target.
// A lost lease is kAborted "lease lost" naming the migration, its phase and the action refused;
// the step stops there and the engine forgets the migration.
//
// The gate asks the store (MigrationStore::CheckRunner) every time: a cached answer would let
// a runner act on a lease lost since. The check and the action are not atomic (no store can
// fence a cluster), so what it bounds is the window: one store round trip, not a whole step.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "common/status.h"
#include "migration/phase.h"
#include "store/migration_store.h"

namespace pgshift {

class LeaseGate {
 public:
  LeaseGate(MigrationStore& store, std::string migration)
      : store_(store), migration_(std::move(migration)) {}
  LeaseGate(const LeaseGate&) = delete;
  LeaseGate& operator=(const LeaseGate&) = delete;

  // The grant the runner holds (set by the engine before the first action) and the phase the
  // migration is in (kept current by the context, for messages).
  void set_lease(RunnerLease lease) { lease_ = std::move(lease); }
  void set_phase(Phase phase) { phase_ = phase; }

  // Ok while the lease is the current grant. kAborted "lease lost" naming the migration, the
  // phase and `action` ("router.switch") otherwise; the store's own error (kUnavailable) when it
  // cannot be asked: an action is never taken without a positive answer.
  Status Check(std::string_view action) const;

 private:
  MigrationStore& store_;
  const std::string migration_;
  RunnerLease lease_;
  std::atomic<Phase> phase_{Phase::kCreated};
};

}  // namespace pgshift
