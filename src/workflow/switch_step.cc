// Switch: application traffic goes to the new primary.
//
//   1. record the route version (so a resumed run re-sends the same one; proxies refuse older);
//   2. point every router at the target, then resume the held sessions;
//   3. kVerifying.
// Assumes: kSwitching, target promoted with its logical slots. Idempotent.
#include "workflow/steps.h"

namespace pgshift {

Result<StepOutcome> RunSwitch(MigrationContext& ctx) {
  if (!ctx.data().contains("route_version")) {
    auto ms = static_cast<uint64_t>(ctx.clock().WallSeconds() * 1000);
    RETURN_IF_ERROR(ctx.Record({{"route_version", ms}}));
  }
  uint64_t version = ctx.data()["route_version"].get<uint64_t>();
  Endpoint to = EndpointOf(ctx.spec().target);
  ctx.progress().Update(
      {Phase::kSwitching, "routing to " + to.host + ":" + std::to_string(to.port)});
  RETURN_IF_ERROR(ctx.router().Switch(to, version));
  RETURN_IF_ERROR(ctx.router().Resume());
  RETURN_IF_ERROR(ctx.Transition(Phase::kSwitching, Phase::kVerifying,
                                 "traffic resumed on the target",
                                 {{"switched_at", ctx.clock().WallSeconds()}}));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
