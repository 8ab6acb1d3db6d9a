// Before a rollback after promotion that keeps the target's writes rewinds the old source, every
// CDC consumer has read all there is to read: the old source's slots up to the CDC fence point,
// and the target's slots up to a point marked on the fenced target. Why: pg_rewind removes the
// old source's slots, and PostgreSQL 15 cannot create a slot at a past position, so the slots
// recreated on the rewound source start past every target write; rows committed on the target
// between the switch and the rollback reach a consumer only through the target's slots, before
// the way back (docs/chaos.md, finding 5; invariant I4).
//
// The wait comes in two parts so that a slow or stopped consumer never holds the service down
// (docs/chaos.md, finding 12): most of it while the target still takes the traffic, the rest,
// short, inside the rollback's pause.
#pragma once

#include "common/status.h"
#include "pg/connection.h"
#include "workflow/migration_context.h"

namespace pgshift {

// Assumes: kRollingBack after promotion, the target promoted and still taking the traffic (not
// yet paused or fenced by the rollback). Waits, bounded by the spec's cdc_catch_up_timeout
// (nothing is held meanwhile), until
//   1. every recorded slot still on the old source has confirmed the CDC fence point;
//   2. every slot the handover created on the target has confirmed a point marked on it now
//      (recorded as rollback_cdc_catch_up_lsn: consumers following the rollback move to the
//      target's slots when it appears);
// so that the drain inside the pause waits only for the last moments' rows. Leaves nothing
// paused or fenced. kFailedPrecondition when consumers do not confirm in time, naming each
// slot as the drain does; other errors as they come.
Status CatchUpCdcConsumersBeforeRollbackPause(MigrationContext& ctx, PgConnection& target);

// Assumes: kRollingBack after promotion, the target promoted and fenced (no new writes).
// Waits, each bounded by the spec's CDC timeout, for the same two things, the target's point
// now marked on the fenced target and recorded (rollback_target_cdc_lsn, so a re-run waits
// for the same position); then records that the consumers are drained (a re-run after the
// rewind skips all this).
// No slot recorded on the target means no application write reached it (the target is fenced
// until its slots exist, I8): nothing to wait for there.
// kFailedPrecondition when consumers do not confirm in time, naming each slot, its confirmed
// LSN, the LSN it must reach and whether a consumer is connected, and what the operator can
// do; nothing has been rewound then. Other errors as they come (kUnavailable is retried).
Status DrainCdcConsumersBeforeRewind(MigrationContext& ctx, PgConnection& target);

}  // namespace pgshift
