// Replication positions the workflow reads around the cutover: the source's WAL end, the
// target's replay position, and a poll that waits for the target to reach a position.
#pragma once

#include <chrono>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"
#include "pg/lsn.h"

namespace pgshift {

// pg_current_wal_lsn() on a primary (kFailedPrecondition on a server in recovery).
Result<Lsn> CurrentWalLsn(PgConnection& source);
// pg_last_wal_replay_lsn() on a standby; on a server that is no longer in recovery, the end of
// its WAL (everything it has is "replayed").
Result<Lsn> ReplayLsn(PgConnection& target);
Result<bool> InRecovery(PgConnection& server);
// Polls ReplayLsn every ~5 ms until it reaches `lsn`. kDeadlineExceeded naming both LSNs
// when `timeout` passes first.
Status WaitForReplay(PgConnection& target, Lsn lsn, std::chrono::milliseconds timeout,
                     Clock& clock);

}  // namespace pgshift
