// CDC slot hand-over: the steps that move logical replication consumers from the source to
// the promoted target without a gap (invariant I4).
//
//   1. before the fence: ListLogicalSlots(source) -> inventory
//   2. after the fence:  lsn = MarkCdcFencePoint(source); WaitForSlotsConfirmed(source, inventory,
//   lsn)
//   3. after promotion, before any application write reaches the target:
//                        RecreateSlots(target, inventory)
//   4. consumers reconnect to the target and continue from the new slots.
//
// Every change committed on the source before the fence point has then been confirmed by
// each consumer, and every change written to the target after step 3 is in its slots.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cdc/logical_slot.h"
#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/lsn.h"

namespace pgshift {

// What an operator can do about late consumers during a cutover (the verify step).
inline constexpr const char* kCutoverConsumerAdvice = "Start or fix the consumers, or roll back";

// Waits until every slot's confirmed_flush_lsn >= `lsn`, polling every ~10 ms on `clock`.
// kDeadlineExceeded on timeout, naming each slot that has not confirmed, its position, how
// far behind it is and whether a consumer is connected, then `what_next` (the operator's way
// on, which differs between the cutover and a rollback); kFailedPrecondition when a slot no
// longer exists (its consumer can never confirm). An empty `slots` is immediately Ok.
Status WaitForSlotsConfirmed(PgConnection& source, const std::vector<LogicalSlot>& slots, Lsn lsn,
                             std::chrono::milliseconds timeout, Clock& clock,
                             const std::string& what_next = kCutoverConsumerAdvice);

// Marks the CDC fence point on the (fenced) source: emits the non-transactional logical
// message pg_logical_emit_message(false, 'pgshift.fence', label) and returns the LSN it
// returns, which is the END of the message record. Logical decoding delivers the message
// with exactly that LSN, so a consumer that received it confirms that position (pg_recvlogical
// confirms the LSN of the last message it received); and since every commit before it ends
// at or before the message's start, such a consumer has received every change committed
// before the fence. pg_current_wal_lsn() is the wrong target: it is the WAL *write* position,
// seen behind the message's end right after emitting it, and past the last decoded record a
// consumer's confirmed position advances only as far as it happens to acknowledge
// keepalives. The message is flushed by the WAL writer within
// wal_writer_delay, like any asynchronous commit. Works under default_transaction_read_only.
Result<Lsn> MarkCdcFencePoint(PgConnection& source, const std::string& label);

// Creates each slot on the (promoted) target with the same name, plugin, database and
// two_phase, through pg_create_logical_replication_slot on a connection to that slot's
// database (target_any_db with dbname replaced). Idempotent: an existing logical slot with
// the same plugin and database is kept; a conflicting one (other plugin, database or a
// physical slot of that name) is kFailedPrecondition and nothing is created. A target still
// in recovery is kFailedPrecondition. Returns the slots as they now are on the target.
Result<std::vector<LogicalSlot>> RecreateSlots(const ConnInfo& target_any_db,
                                               const std::vector<LogicalSlot>& slots);

// kFailedPrecondition, naming them, when `source` has prepared transactions and `slots` is not
// empty: creating a logical slot waits until every transaction running at that moment has
// ended, and a prepared one ends only when someone commits or rolls it back, so recreating
// the slots on the new primary would hold the traffic indefinitely. Prepared transactions
// replay onto the target, so the source's list is the target's. Ok otherwise.
Status CheckSlotsRecreatable(PgConnection& source, const std::vector<LogicalSlot>& slots);

// A connection to the target's database `dbname` ("" for any database). It may have been
// opened before the promotion: a session that saw recovery end writes like any other.
using TargetConnections = std::function<Result<PgConnection*>(const std::string& dbname)>;

// The same, on connections the caller keeps, so that a cutover can open them before its
// held window: a fresh login to a just-promoted server costs more than the slot itself.
Result<std::vector<LogicalSlot>> RecreateSlots(const TargetConnections& target,
                                               const std::vector<LogicalSlot>& slots);

// Drops the named slots (logical or physical). All names are checked first: an unknown name
// is kNotFound, an active slot kFailedPrecondition naming its consumer's pid unless `force`,
// and then nothing is dropped. With `force`, active consumers are terminated first.
Status DropSlots(const ConnInfo& server, const std::vector<std::string>& names, bool force);

}  // namespace pgshift
