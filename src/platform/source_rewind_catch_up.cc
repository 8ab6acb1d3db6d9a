// WaitForCatchUp: a replay wait bounded by progress (see the header for why).
#include "platform/source_rewind_catch_up.h"

#include <cstdio>

#include "platform/replication_status.h"

namespace pgshift {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::chrono::milliseconds Millis(Clock::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

std::string Rate(double bytes_per_second) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f bytes/s", bytes_per_second);
  return buf;
}

}  // namespace

Status WaitForCatchUp(PgConnection& follower, Lsn goal, const CatchUpBounds& bounds, Clock& clock,
                      const std::function<void(const CatchUpProgress&)>& report) {
  const Clock::TimePoint began = clock.Now();
  ASSIGN_OR_RETURN(const Lsn start, ReplayLsn(follower));
  Lsn best = start;
  Clock::TimePoint last_progress = began;
  Clock::TimePoint last_report = began;
  bool reported = false;
  auto progress_now = [&](Lsn replayed) {
    CatchUpProgress p;
    p.replayed = replayed;
    p.goal = goal;
    p.bytes_left = replayed < goal ? BytesBetween(replayed, goal) : 0;
    p.bytes_total = start < goal ? BytesBetween(start, goal) : 0;
    p.elapsed = Millis(clock.Now() - began);
    uint64_t done = start < replayed ? BytesBetween(start, replayed) : 0;
    if (p.elapsed.count() > 0) p.bytes_per_second = done * 1000.0 / p.elapsed.count();
    return p;
  };
  while (true) {
    ASSIGN_OR_RETURN(Lsn replayed, ReplayLsn(follower));
    Clock::TimePoint now = clock.Now();
    if (best < replayed) {
      best = replayed;
      last_progress = now;
    }
    const bool done = best >= goal;
    if (report && (done || !reported || now - last_report >= bounds.report_every)) {
      report(progress_now(best));
      reported = true;
      last_report = now;
    }
    if (done) return Status::Ok();
    const bool stalled = now - last_progress >= bounds.stall;
    const bool too_long = now - began >= bounds.overall;
    if (stalled || too_long) {
      CatchUpProgress p = progress_now(best);
      std::string why =
          stalled
              ? "no replay progress for " + std::to_string(Millis(now - last_progress).count()) +
                    " ms (stall bound " + std::to_string(bounds.stall.count()) + " ms)"
              : "the overall bound of " + std::to_string(bounds.overall.count()) + " ms passed";
      return DeadlineExceeded(
          follower.info().Label() + ": catching up with the promoted target: replayed up to " +
          best.ToString() + ", still " + std::to_string(p.bytes_left) + " bytes short of " +
          goal.ToString() + "; " + why + "; " + std::to_string(p.bytes_total - p.bytes_left) +
          " of " + std::to_string(p.bytes_total) + " bytes replayed in " +
          std::to_string(p.elapsed.count()) + " ms (" + Rate(p.bytes_per_second) +
          "). Check its replication (pg_stat_wal_receiver) and its server log (a query on it "
          "that conflicts with replay holds replay back); running the rollback again waits again");
    }
    clock.SleepFor(kPollInterval);
  }
}

}  // namespace pgshift
