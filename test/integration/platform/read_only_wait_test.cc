// WaitServerReadOnly after a deadline spent elsewhere (chaos finding 14): with the network to
// the target cut, the rollback's fence sent its reload and its deadline ran out while the
// connection hung; the first answer after the cut still showed the old value, and the fence
// gave up ("still 'off' after the reload") on a server that was about to apply it. The server
// gets a grace of polling from its first answer.
#include <gtest/gtest.h>

#include <thread>

#include "fixture/pg_cluster.h"
#include "platform/read_only_fence.h"

namespace pgshift {
namespace {

using testing::PgCluster;

TEST(ReadOnlyWait, ADeadlineSpentBeforeTheServerAnsweredStillGivesTheReloadItsGrace) {
  auto server = PgCluster::Primary();
  PgConnection waiter = server->Connect();
  PgConnection fencer = server->Connect();
  ASSERT_TRUE(StageServerReadOnly(fencer).ok());
  Deadline spent(Clock::Real(), std::chrono::milliseconds(0));
  // The reload lands a moment after the wait began with its deadline already spent.
  std::thread reload([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(ReloadServerConfiguration(fencer).ok());
  });
  Status waited = WaitServerReadOnly(waiter, /*on=*/true, spent, Clock::Real());
  reload.join();
  EXPECT_TRUE(waited.ok()) << waited.ToString();
  ASSERT_TRUE(DisableServerReadOnly(fencer).ok());
}

TEST(ReadOnlyWait, AServerThatNeverAppliesItIsStillReported) {
  auto server = PgCluster::Primary();
  PgConnection conn = server->Connect();
  Deadline deadline(Clock::Real(), std::chrono::milliseconds(100));
  Status waited = WaitServerReadOnly(conn, /*on=*/true, deadline, Clock::Real());
  EXPECT_EQ(waited.code(), Code::kDeadlineExceeded) << waited.ToString();
  EXPECT_NE(waited.message().find("still 'off' after the reload"), std::string::npos)
      << waited.ToString();
}

}  // namespace
}  // namespace pgshift
