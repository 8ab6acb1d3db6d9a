// The read-only layer, over SQL only, so it serves both platforms.
#include "platform/read_only_fence.h"

#include <optional>

namespace pgshift {
namespace {

// Cheap (pg_conf_load_time()), so short.
constexpr auto kLoadTimePollInterval = std::chrono::microseconds(250);

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
  // reset_val ignores this session's own SET: it is what a new session would get. Reading it
  // lists every parameter (pg_settings: ~0.4 ms of the server's CPU, inside the held window),
  // so between two reads the wait polls pg_conf_load_time() alone, which changes when this
  // session re-reads the files: only then can reset_val have changed.
  const std::string sql =
      "SELECT reset_val, pg_conf_load_time()::text FROM pg_settings "
      "WHERE name = 'default_transaction_read_only'";
  const std::string loaded_sql = "SELECT pg_conf_load_time()::text";
  // The deadline may have run out while the connection itself was stalled (a network cut
  // between this process and the server: chaos finding 14), not while the server ignored
  // the reload: the server gets kReloadGrace of polling from the first answer before the
  // deadline counts.
  std::optional<Clock::TimePoint> first_answer;
  auto give_up = [&](const std::string& got) -> std::optional<Status> {
    if (!first_answer) first_answer = clock.Now();
    if (!deadline.Expired() || clock.Now() - *first_answer < kReloadGrace) return std::nullopt;
    return DeadlineExceeded(conn.info().Label() + ": default_transaction_read_only is still '" +
                            got + "' after the reload, expected '" + want +
                            "'; check that postgresql.auto.conf is writable and that no "
                            "setting overrides it for the database or role");
  };
  while (true) {
    ASSIGN_OR_RETURN(PgResult r, conn.Query(sql));
    const std::string got = r.Get(0, "reset_val");
    if (got == want) return Status::Ok();
    const std::string loaded = r.Get(0, "pg_conf_load_time");
    if (auto failed = give_up(got)) return *failed;
    // Until this session has re-read the files, reset_val cannot have changed.
    for (;;) {
      clock.SleepFor(kLoadTimePollInterval);
      ASSIGN_OR_RETURN(std::string now_loaded, conn.QueryValue(loaded_sql));
      if (now_loaded != loaded) break;
      if (auto failed = give_up(got)) return *failed;
    }
  }
}

}  // namespace pgshift
