// The WAL path probe: one token per attempt, written on the source, looked for in the target.
#include "checks/wal_probe.h"

#include <cstdio>
#include <random>

#include "pg/lsn.h"

namespace pgshift {
namespace {

constexpr int kAttempts = 3;
constexpr uint64_t kReadBehind = 1024;  // the message record is ~100 bytes before its end LSN
constexpr auto kPollInterval = std::chrono::milliseconds(5);

std::string RandomToken() {
  std::random_device rd;
  std::string t;
  char hex[9];
  for (int i = 0; i < 4; ++i) {
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rd()));
    t += hex;
  }
  return t;
}

std::string WalFileName(uint32_t tli, uint64_t lsn, uint64_t segment_size) {
  const uint64_t segno = lsn / segment_size;
  const uint64_t per_id = 0x100000000ULL / segment_size;
  char name[25];
  std::snprintf(name, sizeof name, "%08X%08X%08X", tli, static_cast<unsigned>(segno / per_id),
                static_cast<unsigned>(segno % per_id));
  return name;
}

WalProbe NotRun(WalProbe p, const std::string& where, const Status& st) {
  p.outcome = WalProbe::Outcome::kNotRun;
  p.detail = where + ": " + st.message();
  return p;
}

// Waits until the target has flushed WAL past `lsn`; false on timeout.
Result<bool> WaitReceived(PgConnection& target, Lsn lsn, std::chrono::milliseconds timeout,
                          Clock& clock) {
  Deadline deadline(clock, timeout);
  while (true) {
    ASSIGN_OR_RETURN(std::string got,
                     target.QueryValue("SELECT coalesce(pg_last_wal_receive_lsn()::text, '0/0')"));
    ASSIGN_OR_RETURN(Lsn received, Lsn::Parse(got));
    if (received >= lsn) return true;
    if (deadline.Expired()) return false;
    clock.SleepFor(kPollInterval);
  }
}

}  // namespace

nlohmann::json WalProbe::ToJson() const {
  static constexpr const char* kNames[] = {"found", "not_found", "not_received", "not_run"};
  return {{"outcome", kNames[static_cast<int>(outcome)]},
          {"token_lsn", token_lsn},
          {"wal_file", wal_file},
          {"attempts", attempts},
          {"detail", detail}};
}

WalProbe ProbeWalPath(PgConnection& source, PgConnection& target, std::chrono::milliseconds timeout,
                      Clock& clock) {
  WalProbe p;
  auto size = target.QueryValue("SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'");
  if (!size.ok()) return NotRun(p, "target wal_segment_size", size.status());
  const uint64_t segment_size = std::stoull(*size);
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    p.attempts = attempt;
    const std::string token = RandomToken();
    auto end = source.QueryValue(
        "SELECT pg_logical_emit_message(true, 'pgshift.replica_probe', $1)::text", {token});
    if (!end.ok()) return NotRun(p, "write the probe on the source", end.status());
    p.token_lsn = *end;
    auto lsn = Lsn::Parse(*end);
    if (!lsn.ok()) return NotRun(p, "source LSN", lsn.status());
    auto received = WaitReceived(target, *lsn, timeout, clock);
    if (!received.ok()) return NotRun(p, "target receive LSN", received.status());
    if (!*received) {
      p.outcome = WalProbe::Outcome::kNotReceived;
      p.detail = "the target did not receive up to " + p.token_lsn + " within " +
                 std::to_string(timeout.count()) + " ms";
      return p;
    }
    auto tli = target.QueryValue("SELECT coalesce(received_tli, 0) FROM pg_stat_wal_receiver");
    if (!tli.ok()) return NotRun(p, "target timeline", tli.status());
    const uint64_t last = lsn->value - 1;  // the message's last byte
    p.wal_file = WalFileName(static_cast<uint32_t>(std::stoul(tli->empty() ? "0" : *tli)), last,
                             segment_size);
    const uint64_t to = last % segment_size + 1;
    const uint64_t from = to > kReadBehind ? to - kReadBehind : 0;
    // missing_ok: a file the target does not have is an answer, not an error.
    auto found = target.QueryValue(
        "SELECT CASE WHEN b IS NULL THEN 'missing' "
        "WHEN position(convert_to($1, 'SQL_ASCII') IN b) > 0 THEN 'found' ELSE 'other' END "
        "FROM pg_read_binary_file($2, $3::bigint, $4::bigint, true) AS b",
        {token, "pg_wal/" + p.wal_file, std::to_string(from), std::to_string(to - from)});
    if (!found.ok()) return NotRun(p, "read the target's WAL", found.status());
    if (*found == "found") {
      p.outcome = WalProbe::Outcome::kFound;
      p.detail = "token found in " + p.wal_file;
      return p;
    }
    if (*found == "missing") {
      p.outcome = WalProbe::Outcome::kNotFound;
      p.detail = "the target has received past " + p.token_lsn + " but has no WAL file " +
                 p.wal_file + " for it";
      return p;
    }
  }
  p.outcome = WalProbe::Outcome::kNotFound;
  p.detail = "the target's WAL at " + p.token_lsn + " holds other records than the source's";
  return p;
}

}  // namespace pgshift
