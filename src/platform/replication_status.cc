// Replication positions, read over SQL so they work on any platform.
#include "platform/replication_status.h"

namespace pgshift {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(1);

Result<Lsn> QueryLsn(PgConnection& c, const std::string& sql) {
  Result<std::string> text = c.QueryValue(sql);
  if (!text.ok()) return text.status();
  if (text->empty()) return FailedPrecondition(c.info().Label() + ": " + sql + " returned NULL");
  return Lsn::Parse(*text);
}

}  // namespace

Result<bool> InRecovery(PgConnection& server) {
  Result<std::string> v = server.QueryValue("SELECT pg_is_in_recovery()");
  if (!v.ok()) return v.status();
  return *v == "t";
}

Result<Lsn> CurrentWalLsn(PgConnection& source) {
  ASSIGN_OR_RETURN(bool recovering, InRecovery(source));
  if (recovering) {
    return FailedPrecondition(source.info().Label() +
                              ": is in recovery (a standby), so it has no current WAL "
                              "position of its own; point pgshift at the primary");
  }
  return QueryLsn(source, "SELECT pg_current_wal_lsn()");
}

Result<Lsn> ReplayLsn(PgConnection& target) {
  // One query, so that a promotion between two queries cannot produce a NULL.
  return QueryLsn(target,
                  "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                  "ELSE pg_current_wal_lsn() END");
}

Status WaitForReplay(PgConnection& target, Lsn lsn, std::chrono::milliseconds timeout,
                     Clock& clock) {
  Deadline deadline(clock, timeout);
  Lsn replayed;
  while (true) {
    ASSIGN_OR_RETURN(replayed, ReplayLsn(target));
    if (replayed >= lsn) return Status::Ok();
    if (deadline.Expired()) break;
    clock.SleepFor(kPollInterval);
  }
  return DeadlineExceeded(target.info().Label() + ": replayed only up to " + replayed.ToString() +
                          ", still " + std::to_string(BytesBetween(replayed, lsn)) +
                          " bytes short of " + lsn.ToString() + " after " +
                          std::to_string(timeout.count()) +
                          " ms; check the standby's replication (pg_stat_wal_receiver)");
}

}  // namespace pgshift
