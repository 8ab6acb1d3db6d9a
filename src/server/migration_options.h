// The "options" of POST /v1/migrations, judged into a MigrationSpec's thresholds and
// timeouts: check_window_s, max_lag_bytes, max_lag_seconds, auto_cutover, validate_timeout_s,
// pause_deadline_s, fence_deadline_s, drain_timeout_s, cdc_timeout_s, cdc_catch_up_timeout_s,
// rollback_keeps_target_writes, direct_clients ("warn" or "block": clients outside the
// proxies as a warning or a gate). An unknown or ill-typed option is an ApiError naming
// "options.<key>".
#pragma once

#include <nlohmann/json.hpp>

#include "migration/migration_spec.h"
#include "server/api_error.h"

namespace pgshift::server {

// Ok (empty status) or the error with its field.
ApiError ApplyMigrationOptions(const nlohmann::json& options, MigrationSpec& spec);

}  // namespace pgshift::server
