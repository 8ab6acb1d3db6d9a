// Quiesce: the data access layer holds every session of the cluster at its next transaction
// boundary.
//
//   1. before traffic stops, open the sessions that will hold the target's snapshots for
//      verification (connecting costs milliseconds per database; not inside the held window);
//   2. pause every proxy (a lease, renewed by the engine while the cutover runs);
//   3. all acknowledged: kFencing. One did not: the pause is released everywhere and the
//      cutover rolls back with traffic still on the source.
// Assumes: kPausing. Idempotent: pausing a paused proxy is a no-op.
#include "common/log.h"
#include "workflow/steps.h"

namespace pgshift {

Result<StepOutcome> RunQuiesce(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  if (ctx.held_snapshots().empty()) {
    auto sessions = OpenSnapshotSessions(s.target);
    if (sessions.ok()) {
      ctx.held_snapshots() = std::move(sessions).value();
    } else {  // verification will say the data was not compared; not a reason to stop
      spdlog::warn("{}: cannot open snapshot sessions on the target: {}", s.name,
                   sessions.status().message());
    }
  }
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
