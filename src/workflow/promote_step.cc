// Promote: the target becomes the primary.
//
//   1. promote (the platform polls for the end of recovery; no coarse timers) and record how
//      long it took;
//   2. hold a snapshot of every database of the new primary before anything can write to it,
//      for verification after traffic resumes;
//   3. kSlotHandover.
// Assumes: kPromoting recorded, every session paused, source fenced, final LSN replayed.
// Idempotent: promoting a promoted target returns at once; snapshots lost in a crash are
// reported as such by verify.
#include "workflow/steps.h"

namespace pgshift {

Result<StepOutcome> RunPromote(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  ctx.progress().Update({Phase::kPromoting, "promoting " + s.target.Label()});
  auto took = ctx.platform().PromoteTarget(*target, s.promote_timeout, ctx.clock());
  if (!took.ok()) return FailedPrecondition(s.name + ": promote: " + took.status().message());
  ctx.DropConnections();  // the target's session saw recovery end; start clean
  auto snapshots = HoldSnapshots(s.target);
  bool held = snapshots.ok();
  if (held) ctx.held_snapshots() = std::move(snapshots).value();
  RETURN_IF_ERROR(ctx.Transition(Phase::kPromoting, Phase::kSlotHandover,
                                 "target promoted in " + std::to_string(took->count()) + " ms",
                                 {{"promote_ms", took->count()}, {"snapshot_held", held}}));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
