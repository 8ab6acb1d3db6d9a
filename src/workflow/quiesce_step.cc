// Quiesce: the data access layer holds every session of the cluster at its next transaction
// boundary.
//
//   1. before traffic stops, open what the held window will use: the sessions that will hold
//      the target's snapshots for verification, the orchestrator's connections to source and
//      target, and one to each database on the target where a logical slot will be recreated
//      (a login costs tens of milliseconds here, more on a just-promoted server); and the
//      routers' connections to the target for every session (PrepareSwitch); record the
//      route version the switch will send;
//   2. refuse, before anything is held, a cutover whose slot handover could not finish
//      (prepared transactions with logical slots); pause every proxy (a lease, renewed by the
//      engine while the cutover runs);
//   3. all acknowledged: kFencing. One did not: the pause is released everywhere and the
//      cutover rolls back with traffic still on the source.
// Assumes: kPausing. Idempotent: pausing a paused proxy is a no-op.
#include "cdc/logical_slot.h"
#include "cdc/slot_handover.h"
#include "common/log.h"
#include "workflow/steps.h"

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
  Status prepared = ctx.router().PrepareSwitch(EndpointOf(s.target));
  if (!prepared.ok()) {  // the switch logs in instead, inside the held window
    spdlog::warn(
        "{}: routers could not prepare the switch ({}); sessions will log in to the "
        "target during the switch instead, which lengthens the pause",
        s.name, prepared.message());
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
