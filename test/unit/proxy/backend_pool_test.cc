// The backend pool's decisions, with a FakeClock for its idle timeout and socket pairs standing
// in for backend connections (the pool only looks at whether one has anything to read).
#include "proxy/backend_pool.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace pgshift::proxy {
namespace {

// A link whose far end the test holds: the far end can speak, or hang up.
struct FakeBackend {
  BackendLink link;
  int far = -1;
  explicit FakeBackend(uint32_t pid) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    link.transport = Transport(fds[0]);
    link.pid = pid;
    far = fds[1];
  }
  ~FakeBackend() {
    if (far >= 0) ::close(far);
  }
};

PoolKey Key(const std::string& app = "svc") {
  return PoolKey{"orders", "app", "appdb", {{"application_name", app}}};
}

class BackendPoolTest : public ::testing::Test {
 protected:
  BackendPool::Settings settings{.size = 2, .idle_timeout = std::chrono::seconds(60)};
  FakeClock clock;
  MetricsRegistry metrics;
  std::vector<std::unique_ptr<FakeBackend>> backends;

  BackendLink Backend(uint32_t pid) {
    backends.push_back(std::make_unique<FakeBackend>(pid));
    return std::move(backends.back()->link);
  }
  int64_t Count(Metric m) { return metrics.For("orders").Get(m); }
};

TEST_F(BackendPoolTest, HandsBackTheLastBackendReturnedForTheSameKeyAndRoute) {
  BackendPool pool(settings, clock, metrics);
  EXPECT_EQ(pool.Put(Key(), Backend(1), 0), BackendPool::PutOutcome::kPooled);
  EXPECT_EQ(pool.Put(Key(), Backend(2), 0), BackendPool::PutOutcome::kPooled);
  EXPECT_EQ(Count(Metric::kPoolIdleBackends), 2);
  auto taken = pool.Take(Key(), 0);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->pid, 2u);  // the most recently returned
  EXPECT_EQ(Count(Metric::kPoolHits), 1);
  EXPECT_EQ(Count(Metric::kPoolIdleBackends), 1);
  EXPECT_EQ(pool.Take(Key(), 0)->pid, 1u);
  EXPECT_FALSE(pool.Take(Key(), 0).has_value());
  EXPECT_EQ(Count(Metric::kPoolMisses), 1);
}

TEST_F(BackendPoolTest, OtherStartupParametersDoNotShareBackends) {
  BackendPool pool(settings, clock, metrics);
  pool.Put(Key("a"), Backend(1), 0);
  EXPECT_FALSE(pool.Take(Key("b"), 0).has_value());
  PoolKey other_role = Key("a");
  other_role.user = "reporting";
  EXPECT_FALSE(pool.Take(other_role, 0).has_value());
  EXPECT_TRUE(pool.Take(Key("a"), 0).has_value());
}

TEST_F(BackendPoolTest, KeepsAtMostPoolSizePerKey) {
  BackendPool pool(settings, clock, metrics);
  pool.Put(Key(), Backend(1), 0);
  pool.Put(Key(), Backend(2), 0);
  EXPECT_EQ(pool.Put(Key(), Backend(3), 0), BackendPool::PutOutcome::kPoolFull);
  EXPECT_EQ(pool.Put(Key("other"), Backend(4), 0), BackendPool::PutOutcome::kPooled);
  EXPECT_EQ(pool.idle("orders"), 3u);
  EXPECT_EQ(Count(Metric::kPoolDiscards), 1);
}

TEST_F(BackendPoolTest, SizeZeroKeepsNothing) {
  settings.size = 0;
  BackendPool pool(settings, clock, metrics);
  EXPECT_FALSE(pool.enabled());
  EXPECT_EQ(pool.Put(Key(), Backend(1), 0), BackendPool::PutOutcome::kDisabled);
  EXPECT_FALSE(pool.Take(Key(), 0).has_value());
  EXPECT_EQ(pool.idle("orders"), 0u);
}

TEST_F(BackendPoolTest, ABackendOfAnotherRouteVersionIsNeverHandedOut) {
  BackendPool pool(settings, clock, metrics);
  pool.Put(Key(), Backend(1), 4);
  EXPECT_FALSE(pool.Take(Key(), 5).has_value());  // the route moved on: closed on the way
  EXPECT_EQ(pool.idle("orders"), 0u);
  EXPECT_EQ(Count(Metric::kPoolDiscards), 1);
  EXPECT_EQ(Count(Metric::kPoolIdleBackends), 0);
}

TEST_F(BackendPoolTest, ASwitchEmptiesThePoolOfOlderRoutesAndRefusesThemAfterwards) {
  BackendPool pool(settings, clock, metrics);
  pool.Put(Key("a"), Backend(1), 1);
  pool.Put(Key("b"), Backend(2), 2);
  pool.RouteChanged("orders", 2);
  EXPECT_EQ(pool.idle("orders"), 1u);  // the one of version 2 stays
  // A session of the old route ending after the switch: its backend is not taken back.
  EXPECT_EQ(pool.Put(Key("a"), Backend(3), 1), BackendPool::PutOutcome::kOldRoute);
  EXPECT_EQ(pool.Put(Key("a"), Backend(4), 2), BackendPool::PutOutcome::kPooled);
  pool.RouteChanged("orders", 3);
  EXPECT_EQ(pool.idle("orders"), 0u);
  EXPECT_EQ(Count(Metric::kPoolIdleBackends), 0);
  EXPECT_EQ(Count(Metric::kPoolDiscards), 4);
}

TEST_F(BackendPoolTest, APauseEmptiesThePoolAndTakesNothingBackUntilReopened) {
  BackendPool pool(settings, clock, metrics);
  pool.Put(Key(), Backend(1), 0);
  pool.Suspend("orders");
  EXPECT_EQ(pool.idle("orders"), 0u);
  EXPECT_EQ(pool.Put(Key(), Backend(2), 0), BackendPool::PutOutcome::kSuspended);
  EXPECT_FALSE(pool.Take(Key(), 0).has_value());
  pool.Reopen("orders");
  EXPECT_EQ(pool.Put(Key(), Backend(3), 0), BackendPool::PutOutcome::kPooled);
  EXPECT_EQ(pool.Take(Key(), 0)->pid, 3u);
}

TEST_F(BackendPoolTest, PausingOneClusterLeavesAnotherAlone) {
  BackendPool pool(settings, clock, metrics);
  PoolKey inventory = Key();
  inventory.cluster = "inventory";
  pool.Put(Key(), Backend(1), 0);
  pool.Put(inventory, Backend(2), 0);
  pool.Suspend("orders");
  pool.RouteChanged("orders", 9);
  EXPECT_EQ(pool.idle("inventory"), 1u);
  EXPECT_EQ(pool.Take(inventory, 0)->pid, 2u);
}

TEST_F(BackendPoolTest, IdleBackendsAgeOut) {
  BackendPool pool(settings, clock, metrics);
  pool.Put(Key(), Backend(1), 0);
  clock.Advance(std::chrono::seconds(30));
  pool.Put(Key(), Backend(2), 0);
  clock.Advance(std::chrono::seconds(31));
  pool.ExpireIdle();  // the first waited 61 s, the second 31 s
  EXPECT_EQ(pool.idle("orders"), 1u);
  EXPECT_EQ(Count(Metric::kPoolDiscards), 1);
  clock.Advance(std::chrono::seconds(30));
  // Past its timeout before any sweep: not handed out either.
  EXPECT_FALSE(pool.Take(Key(), 0).has_value());
  EXPECT_EQ(pool.idle("orders"), 0u);
}

TEST_F(BackendPoolTest, ABackendThatSpokeOrHungUpIsNotHandedOut) {
  BackendPool pool(settings, clock, metrics);
  pool.Put(Key(), Backend(1), 0);
  pool.Put(Key(), Backend(2), 0);
  // Backend 2 hears a termination notice, backend 1's server hangs up.
  ASSERT_EQ(::write(backends[1]->far, "E", 1), 1);
  ::close(backends[0]->far);
  backends[0]->far = -1;
  EXPECT_FALSE(pool.Take(Key(), 0).has_value());
  EXPECT_EQ(Count(Metric::kPoolDiscards), 2);
  EXPECT_EQ(Count(Metric::kPoolIdleBackends), 0);
}

TEST_F(BackendPoolTest, ClosingAPooledBackendSaysTerminate) {
  {
    BackendPool pool(settings, clock, metrics);
    pool.Put(Key(), Backend(1), 0);
  }  // the pool closes what it holds
  char buf[16];
  ssize_t n = ::read(backends[0]->far, buf, sizeof(buf));
  ASSERT_EQ(n, 5);
  EXPECT_EQ(buf[0], 'X');
}

}  // namespace
}  // namespace pgshift::proxy
