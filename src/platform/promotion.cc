// pg_promote without its own wait (which polls only every 100 ms) and our own 2 ms poll.
#include "platform/promotion.h"

#include "common/log.h"
#include "platform/replication_status.h"

namespace pgshift {
namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(1);
}

Result<std::chrono::milliseconds> PromoteAndWait(PgConnection& target,
                                                 std::chrono::milliseconds timeout, Clock& clock) {
  const auto start = clock.Now();
  ASSIGN_OR_RETURN(bool recovering, InRecovery(target));
  if (!recovering) return std::chrono::milliseconds(0);
  auto promoted = target.QueryValue("SELECT pg_promote(wait => false)");
  if (!promoted.ok()) {
    // Lost a race with a promotion that finished meanwhile: that is the outcome we want.
    ASSIGN_OR_RETURN(bool still, InRecovery(target));
    if (!still) return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() - start);
    return promoted.status().Context("promote target");
  }
  if (*promoted != "t") {
    return FailedPrecondition(target.info().Label() +
                              ": pg_promote() could not signal the postmaster; see the "
                              "target's server log");
  }
  Deadline deadline(clock, timeout);
  while (true) {
    ASSIGN_OR_RETURN(recovering, InRecovery(target));
    if (!recovering) break;
    if (deadline.Expired()) {
      return DeadlineExceeded(target.info().Label() + ": still in recovery " +
                              std::to_string(timeout.count()) +
                              " ms after pg_promote(); see the target's server log");
    }
    clock.SleepFor(kPollInterval);
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() - start);
  spdlog::info("{}: promoted in {} ms", target.info().Label(), took.count());
  return took;
}

}  // namespace pgshift
