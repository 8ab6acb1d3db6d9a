// PauseDrainBudget: a pause request read after its not_after (plus the skew tolerance) is
// stale and holds nothing (chaos finding 3: a proxy frozen before the cutover took the pause
// still in its socket when it woke, after the migration had ended); one read in time drains no
// longer than its sender waits; one without a not_after (an older engine) keeps its deadline.
#include <gtest/gtest.h>

#include "proxy/pause_controller.h"

namespace pgshift::proxy {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kSent = 1796000000000;  // the sender's clock when it sent the request

TEST(PauseDrainBudget, AStaleRequestGetsNoBudget) {
  const int64_t not_after = kSent + 5000;
  // Read a minute later (the proxy was SIGSTOPped, then continued).
  EXPECT_FALSE(PauseDrainBudget(milliseconds(5000), not_after, kSent + 60000).has_value());
  // Just past the tolerance.
  EXPECT_FALSE(
      PauseDrainBudget(milliseconds(5000), not_after, not_after + kPauseNotAfterSkew.count())
          .has_value());
}

TEST(PauseDrainBudget, ARequestReadInTimeDrainsUntilItsSenderStopsWaiting) {
  const int64_t not_after = kSent + 5000;
  EXPECT_EQ(PauseDrainBudget(milliseconds(5000), not_after, kSent + 10), milliseconds(5000));
  // Read 4.9 s late: what is left, the tolerance included, not a whole new deadline.
  EXPECT_EQ(PauseDrainBudget(milliseconds(5000), not_after, kSent + 4900),
            milliseconds(100) + kPauseNotAfterSkew);
  // A proxy whose clock is a little behind the sender's still drains only the deadline.
  EXPECT_EQ(PauseDrainBudget(milliseconds(5000), not_after, kSent - 300), milliseconds(5000));
}

TEST(PauseDrainBudget, ARequestWithoutNotAfterKeepsItsDeadline) {
  EXPECT_EQ(PauseDrainBudget(milliseconds(5000), std::nullopt, kSent), milliseconds(5000));
}

}  // namespace
}  // namespace pgshift::proxy
