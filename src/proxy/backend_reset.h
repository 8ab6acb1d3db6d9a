// Backend reset: what a backend goes through between two client sessions before the pool
// (backend_pool.h) may hand it out again. `DISCARD ALL`, as PgBouncer's server_reset_query:
// it closes cursors and prepared statements, resets every setting to the session's startup
// values (RESET ALL) and the role and session authorization to the login's, drops temporary
// tables, forgets LISTENs, advisory locks, cached plans and sequence state. The backend is fit
// for reuse only if the command succeeded and the server then reported itself idle
// (ReadyForQuery 'I'): DISCARD ALL fails inside a transaction block, so a session that left one
// open is never reused. Blocking, bounded by a timeout: it runs on the connector pool.
#pragma once

#include "common/status.h"
#include "proxy/backend_login.h"

namespace pgshift::proxy {

// Resets `link` (idle between messages, non-blocking) for another session and leaves it
// non-blocking. The ParameterStatus messages the reset causes update `link.parameters`, so the
// next client is told the values in force. kFailedPrecondition when the server refused the
// reset or was not idle after it; kUnavailable when it did not answer within `timeout_ms`. The
// link must then be closed: its state is unknown. Errors name the cluster and the phase.
Status ResetBackendForReuse(const std::string& cluster, BackendLink& link, int timeout_ms);

}  // namespace pgshift::proxy
