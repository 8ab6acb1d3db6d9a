// The read-only layer, over SQL only, so it serves both platforms.
#include "platform/read_only_fence.h"

namespace pgshift {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(1);

Status Reload(PgConnection& conn) {
  auto r = conn.QueryValue("SELECT pg_reload_conf()");
  if (!r.ok()) return r.status().Context("reload configuration");
  return Status::Ok();
}

}  // namespace

Status ExemptSessionFromReadOnly(PgConnection& conn) {
  return conn.Exec("SET default_transaction_read_only = off");
}

Status StageServerReadOnly(PgConnection& conn) {
  Status st = conn.Exec("ALTER SYSTEM SET default_transaction_read_only = on");
  if (!st.ok()) {
    return st.Context(
        "fence read-only (the orchestrator role needs: GRANT ALTER SYSTEM ON PARAMETER "
        "default_transaction_read_only)");
  }
  return Status::Ok();
}

Status ReloadServerConfiguration(PgConnection& conn) { return Reload(conn); }

Status EnableServerReadOnly(PgConnection& conn) {
  RETURN_IF_ERROR(StageServerReadOnly(conn));
  return Reload(conn);
}

Status DisableServerReadOnly(PgConnection& conn) {
  Status st = conn.Exec("ALTER SYSTEM RESET default_transaction_read_only");
  if (!st.ok()) return st.Context("unfence read-only");
  return Reload(conn);
}

Status WaitServerReadOnly(PgConnection& conn, bool on, const Deadline& deadline, Clock& clock) {
  const std::string want = on ? "on" : "off";
  // reset_val ignores this session's own SET: it is what a new session would get.
  const std::string sql =
      "SELECT reset_val FROM pg_settings WHERE name = 'default_transaction_read_only'";
  while (true) {
    ASSIGN_OR_RETURN(std::string got, conn.QueryValue(sql));
    if (got == want) return Status::Ok();
    if (deadline.Expired()) {
      return DeadlineExceeded(conn.info().Label() + ": default_transaction_read_only is still '" +
                              got + "' after the reload, expected '" + want +
                              "'; check that postgresql.auto.conf is writable and that no "
                              "setting overrides it for the database or role");
    }
    clock.SleepFor(kPollInterval);
  }
}

}  // namespace pgshift
