// Promotion of the target over SQL (pg_promote), then a tight poll of pg_is_in_recovery():
// promotion is on the cutover's critical path, so no coarse timer may pad it.
#pragma once

#include <chrono>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

// Idempotent: a target already out of recovery returns zero at once. The role needs EXECUTE
// on pg_promote (a superuser has it). kDeadlineExceeded if still in recovery after `timeout`.
Result<std::chrono::milliseconds> PromoteAndWait(PgConnection& target,
                                                 std::chrono::milliseconds timeout, Clock& clock);

}  // namespace pgshift
