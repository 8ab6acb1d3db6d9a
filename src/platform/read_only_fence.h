// Fence layer 4: default_transaction_read_only = on for the whole server, through ALTER SYSTEM
// (so it survives a restart and a crashed orchestrator) and a reload. A straggler that slips
// in through a gap can then neither commit nor COMMIT PREPARED. pgshift's own session turns it
// off for itself so that it keeps working.
//
// The role needs ALTER SYSTEM on default_transaction_read_only and EXECUTE on
// pg_reload_conf() (a superuser has both; PostgreSQL 15 can GRANT them to another role).
#pragma once

#include <chrono>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

// SET default_transaction_read_only = off for this session only.
Status ExemptSessionFromReadOnly(PgConnection& conn);
// ALTER SYSTEM SET default_transaction_read_only = on; pg_reload_conf().
Status EnableServerReadOnly(PgConnection& conn);
// The first half of EnableServerReadOnly: ALTER SYSTEM only. Writing and fsyncing
// postgresql.auto.conf takes 10-30 ms on a busy host, but the setting is not in force until
// the next configuration reload (ReloadServerConfiguration), so it can be written before
// traffic is held and put in force after.
Status StageServerReadOnly(PgConnection& conn);
// pg_reload_conf(): puts whatever was staged (and pg_hba.conf) in force.
Status ReloadServerConfiguration(PgConnection& conn);
// ALTER SYSTEM RESET default_transaction_read_only; pg_reload_conf().
Status DisableServerReadOnly(PgConnection& conn);
// Polls until the server-wide value (what new sessions get) is `on`: once this session has
// processed the reload, the postmaster has too, and with it every file written before it
// (pg_hba.conf included). The value is read again only once this session has re-read the
// files (pg_conf_load_time() moved), which is polled every 250 us. kDeadlineExceeded if it does not happen in time, and not before
// kReloadGrace of polling since the server's first answer (a deadline spent on a stalled
// connection is not the server's).
inline constexpr std::chrono::milliseconds kReloadGrace{2000};
Status WaitServerReadOnly(PgConnection& conn, bool on, const Deadline& deadline, Clock& clock);

}  // namespace pgshift
