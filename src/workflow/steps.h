// The workflow's steps, one per phase, each in its own file. A step is idempotent: it reads
// where the migration stands (record, servers), does what is missing, and moves the phase
// with ctx.Transition. Run it twice, or after a kill -9 at any point, and it converges.
#pragma once

#include "common/status.h"
#include "workflow/migration_context.h"

namespace pgshift {

enum class StepOutcome {
  kMoved,    // the phase changed; run the next step
  kWaiting,  // nothing to do until the operator acts (cutover gate)
};

Result<StepOutcome> RunReplicate(MigrationContext& ctx);     // kCreated, kReplicating
Result<StepOutcome> RunValidate(MigrationContext& ctx);      // kValidating
Result<StepOutcome> RunCutoverGate(MigrationContext& ctx);   // kReadyForCutover
Result<StepOutcome> RunQuiesce(MigrationContext& ctx);       // kPausing
Result<StepOutcome> RunFence(MigrationContext& ctx);         // kFencing
Result<StepOutcome> RunDrain(MigrationContext& ctx);         // kDraining
Result<StepOutcome> RunPromote(MigrationContext& ctx);       // kPromoting
Result<StepOutcome> RunSlotHandover(MigrationContext& ctx);  // kSlotHandover
Result<StepOutcome> RunSwitch(MigrationContext& ctx);        // kSwitching
Result<StepOutcome> RunVerify(MigrationContext& ctx);        // kVerifying
Result<StepOutcome> RunRollback(MigrationContext& ctx);      // kRollingBack

// Shared by the cutover steps: the endpoint a Router should send traffic to.
Endpoint EndpointOf(const ConnInfo& c);
FenceOptions FenceOptionsOf(const MigrationSpec& s);
// The route version that points the routers at the target, recorded the first time it is
// asked for, so that a resumed run sends the same one (proxies refuse older versions).
Result<uint64_t> RouteVersionToTarget(MigrationContext& ctx);

}  // namespace pgshift
