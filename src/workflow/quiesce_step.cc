// Quiesce: the data access layer holds every session of the cluster at its next transaction
// boundary.
//
//   1. before traffic stops, open what the held window will use: the sessions that will hold
//      the target's snapshots for verification, the orchestrator's connections to source and
//      target, and one to each database on the target where a logical slot will be recreated
//      (a login costs tens of milliseconds here, more on a just-promoted server); and the
//      routers' connections to the target for every session (PrepareSwitch); record the
//      route version the switch will send; fence the target (target_fence_step.h: it takes
//      effect at the promotion, so setting it on the standby now keeps its cost out of the
//      held window);
//   2. refuse, before anything is held, a cutover whose slot handover could not finish
//      (prepared transactions with logical slots); pause every proxy (a lease, renewed by the
//      engine while the cutover runs) and, while the pause drains the last transactions, write
//      the source's read-only layer (ALTER SYSTEM, 10-30 ms of fsync on a busy host) without
//      putting it in force: the fence step's reload does that once every session is held, so
//      no transaction starts read-only, and the final LSN still waits for the whole fence (I2);
//   3. all acknowledged: kFencing. One did not: the pause is released everywhere and the
//      cutover rolls back with traffic still on the source.
// Assumes: kPausing. Idempotent: pausing a paused proxy is a no-op.
#include <future>

#include "cdc/logical_slot.h"
#include "cdc/slot_handover.h"
#include "common/log.h"
#include "platform/source_fence.h"
#include "workflow/steps.h"
#include "workflow/target_fence_step.h"

namespace pgshift {
namespace {

// Best effort: a connection that cannot be opened now is opened (or reported) by the step
// that needs it.
void OpenWindowConnections(MigrationContext& ctx, const std::vector<LogicalSlot>& slots) {
  (void)ctx.Target();
  for (const LogicalSlot& slot : slots) {
    auto c = ctx.TargetDb(slot.database);
    if (!c.ok()) {
      spdlog::warn("{}: cannot open a connection to database {} on the target yet: {}",
                   ctx.spec().name, slot.database, c.status().message());
    }
  }
}

}  // namespace

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
  // Before anything is held: refused now, the cutover changes nothing (re-checked at the fence).
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  ASSIGN_OR_RETURN(std::vector<LogicalSlot> slots, ListLogicalSlots(*source));
  if (Status ok = CheckSlotsRecreatable(*source, slots); !ok.ok()) {
    return FailedPrecondition(s.name + ": quiesce: " + ok.message());
  }
  OpenWindowConnections(ctx, slots);
  // Recorded now so that the promote step, inside the window, only reads it (one fsync less).
  RETURN_IF_ERROR(RouteVersionToTarget(ctx).status());
  // The target fence (I8) changes nothing on a standby until its promotion: set here, its
  // routes lookup, pg_hba write, ALTER SYSTEM fsyncs and reload stay out of the held window.
  RETURN_IF_ERROR(FenceTargetBeforePromotion(ctx));
  Status prepared = ctx.router().PrepareSwitch(EndpointOf(s.target));
  if (!prepared.ok()) {  // the switch logs in instead, inside the held window
    spdlog::warn(
        "{}: routers could not prepare the switch ({}); sessions will log in to the "
        "target during the switch instead, which lengthens the pause",
        s.name, prepared.message());
  }
  ctx.progress().Update({Phase::kPausing, "pausing " + ctx.router().Describe()});
  // Only the source connection is used on the other thread; the pause uses the routers.
  FenceOptions fence = FenceOptionsOf(s);
  std::future<Status> staging = std::async(
      std::launch::async, [source, fence] { return StageReadOnlyFence(*source, fence); });
  Status paused = ctx.router().Pause(s.pause_deadline, s.pause_lease);
  Status staged = staging.get();
  // Not staged: the fence writes it itself, inside the held window, as before. Staged but not
  // paused: the rollback unfences the source, which resets it.
  ctx.read_only_staged() = staged.ok();
  if (!staged.ok()) {
    spdlog::warn(
        "{}: could not write the read-only fence ahead of the pause ({}); the fence "
        "writes it inside the held window instead",
        s.name, staged.message());
  }
  if (!paused.ok()) {
    // Said here, not by the router: a rollback's pause fails through the same call and
    // aborts no cutover.
    return FailedPrecondition(s.name + ": quiesce: " + paused.message() +
                              "; cutover aborted, traffic resumed on the source");
  }
  RETURN_IF_ERROR(ctx.Transition(Phase::kPausing, Phase::kFencing,
                                 "every session held at a transaction boundary"));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
