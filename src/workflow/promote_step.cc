// Promote: the target becomes the primary.
//
//   0. the target fence (target_fence_step.h): from its promotion until its logical slots
//      exist no client, through a proxy or around it, can commit there (I8). The quiesce step
//      set it on the standby before the pause; set here only if this run finds it unrecorded
//      (a migration that reached the window without it). Before the early switch: the
//      proxies' logins to the target must find the fence's marker (they turn read-only off
//      for themselves);
//   1. record the route version to the target and, if the routers hold sessions across a
//      switch (proxies), start switching them to it in the background: held sessions log in to the
//      target while it is promoted, instead of after. They stay held until the switch step resumes
//      them after the slot handover, so nothing runs on the target as a standby nor before its
//      slots exist (I4); a session opened during recovery writes once recovery has ended. A
//      rollback from here on routes back to the source with a newer version, which proxies prefer
//      whatever the order. Only from a pause this process confirmed within its lease
//      (pause_lease.h): a lapsed pause would let the switched sessions run at once; the switch
//      step then switches instead;
//   2. promote (the platform polls for the end of recovery; no coarse timers) and record how
//      long it took;
//   3. kSlotHandover.
// Assumes: kPromoting recorded, every session paused, source fenced, final LSN replayed.
// Leaves: the target promoted and fenced (fact target_fenced), the routers switching to it.
// Idempotent: promoting a promoted target returns at once; snapshots lost in a crash are
// reported as such by verify.
#include "workflow/steps.h"
#include "workflow/target_fence_step.h"

namespace pgshift {

Result<StepOutcome> RunPromote(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  if (!ctx.facts().target_fenced) RETURN_IF_ERROR(FenceTargetBeforePromotion(ctx));
  ASSIGN_OR_RETURN(uint64_t version, RouteVersionToTarget(ctx));
  if (!ctx.early_switch() && ctx.router().HoldsSessionsAcrossSwitch() &&
      ctx.pause_lease().Held().ok()) {
    Router* router = &ctx.router();
    Endpoint to = EndpointOf(s.target);
    ctx.early_switch() = std::async(std::launch::async,
                                    [router, to, version] { return router->Switch(to, version); });
  }
  ctx.progress().Update({Phase::kPromoting, "promoting " + s.target.Label()});
  auto took = ctx.platform().Promote(*target, s.promote_timeout, ctx.clock());
  if (!took.ok()) return FailedPrecondition(s.name + ": promote: " + took.status().message());
  RETURN_IF_ERROR(ctx.Transition(Phase::kPromoting, Phase::kSlotHandover,
                                 "target promoted in " + std::to_string(took->count()) + " ms",
                                 [ms = took->count()](MigrationFacts& f) { f.promote_ms = ms; }));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
