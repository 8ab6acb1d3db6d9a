// The target fence's place in the workflow (DESIGN.md I8; the layers are in
// platform/target_fence.h): set by the quiesce step before the pause (on a standby it acts
// only once promoted; the promote step sets it if it finds it unrecorded), lifted by the switch
// step once the slots exist and the proxies resumed, and by a rollback. The fact
// target_fenced is recorded before the fence is set and cleared only after it is lifted, so a
// run killed at any point is lifted by the next (lifting is idempotent).
#pragma once

#include "common/status.h"
#include "workflow/migration_context.h"

namespace pgshift {

// Records the intent, then fences the target (idempotent: a re-run sets what is missing).
// Assumes the target is still a standby, or promoted without logical slots yet.
Status FenceTargetBeforePromotion(MigrationContext& ctx);
// Lifts every layer, then clears the fact. A no-op when the fact is clear. Assumes the
// target's logical slots exist (or the migration is rolling back).
Status LiftTargetFence(MigrationContext& ctx);
// Rollback after promotion: the abandoned target keeps read-only (the rollback's own fence)
// but loses the rest of the target fence; the source, if a rewind copied the target's
// configuration, loses the marker too. Best effort on the target, which may be down.
Status LiftTargetFenceForRollback(MigrationContext& ctx, bool keep_read_only);

}  // namespace pgshift
