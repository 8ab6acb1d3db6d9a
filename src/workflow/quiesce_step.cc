// Quiesce: the data access layer holds every session of the cluster at its next transaction
// boundary.
//
//   1. pause every proxy (a lease, renewed by the engine while the cutover runs);
//   2. all acknowledged: kFencing. One did not: the pause is released everywhere and the
//      cutover rolls back with traffic still on the source.
// Assumes: kPausing. Idempotent: pausing a paused proxy is a no-op.
#include "workflow/steps.h"

namespace pgshift {

Result<StepOutcome> RunQuiesce(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  ctx.progress().Update({Phase::kPausing, "pausing " + ctx.router().Describe()});
  Status paused = ctx.router().Pause(s.pause_deadline, s.pause_lease);
  if (!paused.ok()) {
    return FailedPrecondition(s.name + ": quiesce: " + paused.message());
  }
  RETURN_IF_ERROR(ctx.Transition(Phase::kPausing, Phase::kFencing,
                                 "every session held at a transaction boundary"));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
