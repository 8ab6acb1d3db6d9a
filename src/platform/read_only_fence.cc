// The read-only layer, over SQL only, so it serves both platforms.
#include "platform/read_only_fence.h"

#include <optional>

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
  // The deadline may have run out while the connection itself was stalled (a network cut
  // between this process and the server: chaos finding 14), not while the server ignored
  // the reload: the server gets kReloadGrace of polling from the first answer before the
  // deadline counts.
  std::optional<Clock::TimePoint> first_answer;
  while (true) {
    ASSIGN_OR_RETURN(std::string got, conn.QueryValue(sql));
    if (got == want) return Status::Ok();
    if (!first_answer) first_answer = clock.Now();
    if (deadline.Expired() && clock.Now() - *first_answer >= kReloadGrace) {
      return DeadlineExceeded(conn.info().Label() + ": default_transaction_read_only is still '" +
                              got + "' after the reload, expected '" + want +
                              "'; check that postgresql.auto.conf is writable and that no "
                              "setting overrides it for the database or role");
    }
    clock.SleepFor(kPollInterval);
  }
}

}  // namespace pgshift
