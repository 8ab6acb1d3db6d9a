// Promotion at a WAL segment boundary. A standby promoted in the middle of a segment copies
// that partial segment to the new timeline and zero-fills the rest: 16 MB written and
// fsynced while every application session is held (about 100 ms of this machine's ~190 ms
// pg_promote). Ending the source's WAL on a segment boundary at the fence makes the new
// timeline start in a fresh segment instead, and with wal_init_zero off on the target that
// segment is created without writing it. Everything here is an optimisation: each function
// that cannot act (a role without the right, an operator's own setting) changes nothing and
// the promotion is merely slower.
#pragma once

#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

// On the target, before the cutover holds traffic: ALTER SYSTEM SET wal_init_zero = off and
// reload, unless it is already off or set in postgresql.auto.conf by someone else. True when
// it changed the setting (the caller records that, to restore it).
Result<bool> LiftWalInitZero(PgConnection& target);

// Undoes LiftWalInitZero (ALTER SYSTEM RESET wal_init_zero, reload). Idempotent.
Status RestoreWalInitZero(PgConnection& target);

// On the fenced source, after its last write: pg_switch_wal(), so that the final LSN read
// next is the start of a segment. A session that lacks EXECUTE on it gets the error back.
Status EndWalSegment(PgConnection& source);

}  // namespace pgshift
