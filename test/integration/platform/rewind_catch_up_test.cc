// The rewound old source catching up with the promoted target (rollback after promotion that
// keeps the target's writes): bounded by progress, not by the drain timeout (docs/chaos.md,
// finding 6: "replayed only up to 0/41B14C0, still 125856 bytes short of 0/41D0060 after
// 10000 ms", and a re-run finished). Replay is held back at explicit points by queries on the
// rewound standby that conflict with it (max_standby_streaming_delay = -1), released by the
// test at chosen moments of a scripted clock: no sleep stands in for synchronisation.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "platform/platform.h"
#include "platform/replication_status.h"
#include "platform/source_rewind_catch_up.h"
#include "source_sessions.h"

namespace pgshift {
namespace {

using testing::PgCluster;
using namespace std::chrono_literals;

// Time moves only through SleepFor (each poll of a wait advances it by the poll interval, and
// lets the servers run for a moment of real time); at chosen times, an action runs once.
class ScriptedClock : public Clock {
 public:
  TimePoint Now() const override { return fake_.Now(); }
  double WallSeconds() const override { return fake_.WallSeconds(); }
  void SleepFor(Duration d) override {
    fake_.Advance(d);
    std::this_thread::sleep_for(2ms);
    for (Step& s : steps_) {
      if (!s.done && Now() - start_ >= s.at) {
        s.done = true;
        s.action();
      }
    }
  }
  void At(Duration at, std::function<void()> action) { steps_.push_back({at, action, false}); }
  Duration Elapsed() const { return Now() - start_; }

 private:
  struct Step {
    Duration at;
    std::function<void()> action;
    bool done;
  };
  FakeClock fake_;
  TimePoint start_ = fake_.Now();
  std::vector<Step> steps_;
};

// A source rewound to follow its promoted target, with two sessions on it (now a standby) that
// each hold a lock the target's later writes need: replay stops at each until it is released.
struct HeldBackCatchUp {
  std::unique_ptr<PgCluster> source = PgCluster::Primary(
      {{"max_standby_streaming_delay", "-1"}, {"max_standby_archive_delay", "-1"}});
  std::unique_ptr<PgCluster> target;
  std::optional<PgConnection> holds_a, holds_b;
  Lsn goal;

  HeldBackCatchUp() {
    testing::CreateAppSchema(*source);
    source->Sql("CREATE TABLE a (i int); CREATE TABLE b (i int)");
    target = PgCluster::ReplicaOf(*source);
    auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
    {
      PgConnection orch = source->Connect();
      Check(platform->Fence(orch, testing::FenceAs("postgres"), Clock::Real()).status());
      auto final_lsn = CurrentWalLsn(orch);
      Check(final_lsn.status());
      PgConnection tconn = target->Connect();
      Check(WaitForReplay(tconn, *final_lsn, 30s, Clock::Real()));
      Check(platform->Promote(tconn, 30s, Clock::Real()).status());
    }
    Check(platform->RewindToFollow(target->Conn(), Clock::Real()));
    holds_a.emplace(source->Connect());
    holds_b.emplace(source->Connect());
    Check(holds_a->Exec("BEGIN; SELECT count(*) FROM a"));
    Check(holds_b->Exec("BEGIN; SELECT count(*) FROM b"));
    // On the target: writes, a TRUNCATE of a (replay waits for holds_a), writes, a TRUNCATE of
    // b (waits for holds_b), writes.
    target->Sql("INSERT INTO t SELECT g, 'before a' FROM generate_series(1, 100) g");
    target->Sql("TRUNCATE a");
    target->Sql("INSERT INTO t SELECT g, 'between' FROM generate_series(101, 200) g");
    target->Sql("TRUNCATE b");
    target->Sql("INSERT INTO t SELECT g, 'after b' FROM generate_series(201, 300) g");
    PgConnection tconn = target->Connect();
    auto lsn = CurrentWalLsn(tconn);
    Check(lsn.status());
    goal = *lsn;
  }

  void Release(std::optional<PgConnection>& holder) { Check(holder->Exec("COMMIT")); }

  static void Check(const Status& st) {
    if (!st.ok()) throw std::runtime_error(st.ToString());
  }
};

// One setup for both halves (a rewound pair takes most of the test's time).
TEST(RewindCatchUp, GivesUpWhenReplayStallsNotWhenTheCatchUpOutlastsTheDrainTimeout) {
  HeldBackCatchUp c;
  PgConnection follower = c.source->Connect();

  // The drain timeout (1 s here) is too short for this catch-up: the old bound gave up
  // (finding 6), where a re-run finished.
  {
    ScriptedClock clock;
    Status old_bound = WaitForReplay(follower, c.goal, 1000ms, clock);
    ASSERT_EQ(old_bound.code(), Code::kDeadlineExceeded) << old_bound.ToString();
  }

  // Replay held back for longer than the stall bound: the wait gives up, saying where it stands.
  {
    ScriptedClock clock;
    Status st = WaitForCatchUp(follower, c.goal, {.stall = 2s, .overall = 10min}, clock);
    ASSERT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
    EXPECT_NE(st.message().find("short of " + c.goal.ToString()), std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("no replay progress for"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("bytes/s"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("conflicts with replay"), std::string::npos) << st.message();
    std::cout << "[stall error] " << st.message() << "\n";
  }

  // Released at 3 s and 6 s of the clock, each wait shorter than the stall bound: the catch-up
  // outlasts the drain timeout several times over, and completes.
  ScriptedClock clock;
  clock.At(3s, [&] { c.Release(c.holds_a); });
  clock.At(6s, [&] { c.Release(c.holds_b); });
  std::vector<CatchUpProgress> reports;
  Status st = WaitForCatchUp(follower, c.goal, {.stall = 20s, .overall = 10min, .report_every = 1s},
                             clock, [&](const CatchUpProgress& p) { reports.push_back(p); });
  ASSERT_TRUE(st.ok()) << st.ToString();
  // At 6 s exactly when the first poll after the release finds the replay done already.
  EXPECT_GE(clock.Elapsed(), 6s) << "finished only once both locks were released";
  EXPECT_EQ(*c.source->Connect().QueryValue("SELECT count(*) FROM t"), "300");
  // Progress went through the sink, ending at the goal.
  ASSERT_GE(reports.size(), 3u);
  EXPECT_GT(reports.front().bytes_left, 0u);
  EXPECT_EQ(reports.back().bytes_left, 0u);
  EXPECT_EQ(reports.back().goal, c.goal);
  EXPECT_GT(reports.back().bytes_total, 0u);
}

}  // namespace
}  // namespace pgshift
