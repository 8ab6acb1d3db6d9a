// The claim loop's decisions, one tick at a time over a MemoryStore (no engine turns run):
// queued migrations are admitted first come first served within the per-team limit and the
// others say which limit holds them (once per change in their notes); a rollback is never
// held back; a requested cutover waits for its team's window, for a freeze and for the one
// cutover at once, saying why, and goes when allowed.
#include "server/claim_loop.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace pgshift::server {
namespace {

class ClaimLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 2026-11-30T12:00:00Z, a Monday.
    clock_.Advance(std::chrono::seconds(1796040000));
    for (const char* team : {"payments", "search"}) {
      for (int i = 1; i <= 3; ++i) {
        ClusterRecord c;
        c.name = std::string(team) + std::to_string(i);
        c.team = team;
        c.registration = {{"source", {{"conninfo", "host=db" + std::to_string(i) + " port=1"}}}};
        ASSERT_TRUE(store_.CreateCluster(c, 1).ok());
      }
    }
  }
  // A started migration of `cluster` standing at `phase`.
  void Add(const std::string& name, const std::string& cluster, const std::string& team,
           Phase phase, bool admitted = false) {
    MigrationRecord r;
    r.name = name;
    r.phase = phase;
    ASSERT_TRUE(store_.Create(r, clock_.WallSeconds()).ok());
    nlohmann::json control = {{"cluster", cluster}, {"team", team}, {"started", true}};
    if (admitted) control["admitted"] = true;
    ASSERT_TRUE(store_.MergeControl(name, control, 1).ok());
  }
  std::unique_ptr<ClaimLoop> Loop(SchedulerConfig config) {
    return std::make_unique<ClaimLoop>(ctx_, std::move(config));
  }
  std::string Waiting(const std::string& name) {
    return store_.GetControl(name)->value("waiting", "");
  }

  MemoryStore store_;
  FakeClock clock_;
  ServerContext ctx_{ServerConfig{}, store_, store_, clock_};
};

TEST_F(ClaimLoopTest, OnePerTeamIsAdmittedAndTheOthersSayWhy) {
  SchedulerConfig config;
  config.limits.max_running_per_team = 1;
  Add("p1", "payments1", "payments", Phase::kCreated);
  Add("p2", "payments2", "payments", Phase::kCreated);
  Add("s1", "search1", "search", Phase::kCreated);
  auto loop = Loop(config);
  auto ready = loop->TickOnce();
  EXPECT_EQ(ready, std::vector<std::string>({"p1", "s1"}));
  EXPECT_EQ(Waiting("p2"),
            "queued: team payments already runs 1 migration (max_running_per_team = 1)");
  EXPECT_EQ(store_.GetControl("p1")->value("driver", ""), loop->owner());
  loop->TickOnce();
  EXPECT_EQ(store_.Notes("p2")->size(), 1u);  // once per change, not once per tick
  // p1 completes: p2 goes.
  auto grant = store_.AcquireRunner("p1", "t", std::chrono::seconds(5), 1, "");
  ASSERT_TRUE(
      store_
          .ApplyTransition("p1", grant->lease, Phase::kCreated, Phase::kRollingBack, "test", {}, 1)
          .ok());
  ASSERT_TRUE(store_
                  .ApplyTransition("p1", grant->lease, Phase::kRollingBack, Phase::kRolledBack,
                                   "test", {}, 1)
                  .ok());
  ready = loop->TickOnce();
  EXPECT_EQ(ready, std::vector<std::string>({"s1", "p2"}));
  EXPECT_EQ(Waiting("p2"), "");
}

TEST_F(ClaimLoopTest, ARollbackIsNeverHeldBackByTheLimits) {
  SchedulerConfig config;
  config.limits.max_running = 1;
  Add("p1", "payments1", "payments", Phase::kReplicating, true);
  Add("p2", "payments2", "payments", Phase::kReplicating);
  auto loop = Loop(config);
  EXPECT_EQ(loop->TickOnce(), std::vector<std::string>({"p1"}));
  ASSERT_TRUE(store_.RequestRollback("p2", {}, 2).ok());
  EXPECT_EQ(loop->TickOnce(), std::vector<std::string>({"p1", "p2"}));
}

TEST_F(ClaimLoopTest, ACutoverWaitsForItsWindowAFreezeAndTheOneAtOnce) {
  SchedulerConfig config;
  config.calendar.team_windows["payments"].push_back(
      *scheduler::ParseWeeklyWindow("Mon-Fri 14:00-15:00 UTC"));
  Add("p1", "payments1", "payments", Phase::kReadyForCutover, true);
  Add("s1", "search1", "search", Phase::kReadyForCutover, true);
  Add("s2", "search2", "search", Phase::kReadyForCutover, true);
  ASSERT_TRUE(store_.RequestCutover("p1", 1).ok());
  auto loop = Loop(config);
  auto ready = loop->TickOnce();
  // p1 is outside its window; s1 and s2 only wait at the gate (no cutover asked).
  EXPECT_EQ(ready, std::vector<std::string>({"s1", "s2"}));
  EXPECT_NE(Waiting("p1").find("outside team payments's cutover window (Mon-Fri 14:00-15:00 "
                               "UTC); next allowed at 2026-11-30T14:00:00Z"),
            std::string::npos)
      << Waiting("p1");
  ASSERT_EQ(store_.Notes("p1")->size(), 1u);
  EXPECT_NE((*store_.Notes("p1"))[0].text.find("outside team payments's"), std::string::npos);

  // Both search migrations ask: one cutover at once.
  ASSERT_TRUE(store_.RequestCutover("s1", 2).ok());
  ASSERT_TRUE(store_.RequestCutover("s2", 2).ok());
  ready = loop->TickOnce();
  EXPECT_EQ(ready, std::vector<std::string>({"s1"}));
  EXPECT_EQ(Waiting("s2"),
            "cutover waits: 1 cutover already in progress (s1; max_cutovers_at_once = 1)");

  // In the window, p1 still waits for s1's cutover.
  clock_.Advance(std::chrono::hours(2));
  ready = loop->TickOnce();
  EXPECT_TRUE(std::find(ready.begin(), ready.end(), "p1") == ready.end());
  EXPECT_NE(Waiting("p1").find("max_cutovers_at_once = 1"), std::string::npos) << Waiting("p1");
  EXPECT_EQ(store_.Notes("p1")->size(), 2u);
}

TEST_F(ClaimLoopTest, AFreezeHoldsEveryTeamsCutover) {
  SchedulerConfig config;
  const double now = clock_.WallSeconds();
  config.calendar.freezes.push_back({"black-friday", now - 60, now + 3600, "peak traffic"});
  Add("s1", "search1", "search", Phase::kReadyForCutover, true);
  ASSERT_TRUE(store_.RequestCutover("s1", 1).ok());
  auto loop = Loop(config);
  EXPECT_TRUE(loop->TickOnce().empty());
  EXPECT_NE(Waiting("s1").find("freeze black-friday until 2026-11-30T13:00:00Z: peak traffic"),
            std::string::npos)
      << Waiting("s1");
  clock_.Advance(std::chrono::seconds(3600));
  EXPECT_EQ(loop->TickOnce(), std::vector<std::string>({"s1"}));
  EXPECT_EQ(Waiting("s1"), "");
}

}  // namespace
}  // namespace pgshift::server
