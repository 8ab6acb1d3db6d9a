// Drain: nothing acknowledged before the fence may be missing after the cutover.
//
//   1. wait until the target has replayed the final LSN (I2);
//   2. take the verification snapshots on the standby, now equal to the fenced source;
//   3. kPromoting (this record is the promotion's intent, I3).
// CDC consumers are not waited for here, while traffic is held: they drain the old source's
// slots up to the CDC fence point at their own pace after the switch, and verify drops those
// slots only once every consumer has confirmed it (I4).
// Assumes: kDraining with final_lsn recorded. Idempotent: waiting again is harmless.
#include "common/log.h"
#include "platform/replication_status.h"
#include "workflow/steps.h"

namespace pgshift {

Result<StepOutcome> RunDrain(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  if (!ctx.facts().final_lsn) {
    return InvalidArgument(s.name + ": drain: no final LSN recorded by the fence");
  }
  const Lsn final_lsn = *ctx.facts().final_lsn;
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  ctx.progress().Update({Phase::kDraining, "target replaying up to " + final_lsn.ToString()});
  Status replayed = WaitForReplay(*target, final_lsn, s.drain_timeout, ctx.clock());
  if (!replayed.ok()) return FailedPrecondition(s.name + ": drain: " + replayed.message());
  ctx.progress().Update({Phase::kDraining, "replayed " + final_lsn.ToString() + " on the target"});

  bool held = false;
  if (!ctx.held_snapshots().empty()) {
    Status taken = TakeSnapshots(ctx.held_snapshots());
    if (!taken.ok()) {
      spdlog::warn("{}: no verification snapshot: {}", s.name, taken.message());
      ctx.held_snapshots().clear();
    }
    held = taken.ok();
  }
  RETURN_IF_ERROR(ctx.Transition(Phase::kDraining, Phase::kPromoting,
                                 "target replayed " + final_lsn.ToString(),
                                 [held](MigrationFacts& f) { f.snapshot_held = held; }));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
