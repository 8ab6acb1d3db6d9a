// Switch: application traffic goes to the new primary.
//
//   1. wait for the switch started at promotion, if this process started one;
//   2. unless that switch succeeded, point every router at the target (a no-op for a router
//      already there); then resume the held sessions, but only from a pause still confirmed
//      (pause_lease.h): if it lapsed meanwhile (a failed renewal, this process frozen), the
//      step answers kUnavailable and the engine pauses again before running it again;
//   3. lift the target fence (target_fence_step.h): the slots exist. After the resume for
//      routers that hold sessions (the lift stays out of the held window: their logins write
//      through the fence), before the switch for the others (their clients reconnect by
//      themselves and would meet the fence);
//   4. kVerifying.
// Assumes: kSwitching, target promoted with its logical slots, possibly still fenced.
// Leaves: traffic on the target, no target fence. Idempotent.
#include "common/log.h"
#include "workflow/steps.h"
#include "workflow/target_fence_step.h"

namespace pgshift {

// Drawn once from the store's counter for the router's routes and recorded, so that a resumed
// run repeats the same switch (the proxies answer 409 for a version they have, and the router
// then checks that the route is the one wanted). Never from a clock, which can step back.
Result<uint64_t> RouteVersionToTarget(MigrationContext& ctx) {
  if (!ctx.facts().route_version) {
    ASSIGN_OR_RETURN(uint64_t version, ctx.store().NextRouteVersion(ctx.router().RouteKey()));
    RETURN_IF_ERROR(ctx.Record([version](MigrationFacts& f) { f.route_version = version; }));
  }
  return *ctx.facts().route_version;
}

Result<StepOutcome> RunSwitch(MigrationContext& ctx) {
  bool switched = false;
  if (ctx.early_switch()) {
    Status early = ctx.early_switch()->get();
    ctx.early_switch().reset();
    switched = early.ok();
    if (!early.ok()) spdlog::info("{}: switching again: {}", ctx.spec().name, early.message());
  }
  ASSIGN_OR_RETURN(uint64_t version, RouteVersionToTarget(ctx));
  Endpoint to = EndpointOf(ctx.spec().target);
  ctx.progress().Update(
      {Phase::kSwitching, "routing to " + to.host + ":" + std::to_string(to.port)});
  const bool holds = ctx.router().HoldsSessionsAcrossSwitch();
  if (!holds) RETURN_IF_ERROR(LiftTargetFence(ctx));
  if (!switched) RETURN_IF_ERROR(ctx.router().Switch(to, version));
  if (holds) {
    Status held = ctx.pause_lease().Held();
    if (!held.ok()) {
      return Unavailable(ctx.spec().name + ": switching: not resuming " + ctx.router().Describe() +
                         " from a pause that is not confirmed (" + held.message() + ")");
    }
  }
  ctx.progress().Update({Phase::kSwitching, "resuming " + ctx.router().Describe()});
  RETURN_IF_ERROR(ctx.router().Resume());
  ctx.progress().Update({Phase::kSwitching, "resumed; lifting the target fence"});
  if (holds) RETURN_IF_ERROR(LiftTargetFence(ctx));
  RETURN_IF_ERROR(ctx.Transition(
      Phase::kSwitching, Phase::kVerifying, "traffic resumed on the target",
      [now = ctx.clock().WallSeconds()](MigrationFacts& f) { f.switched_at = now; }));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
