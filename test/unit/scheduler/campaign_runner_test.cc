// CampaignRunner over a MemoryStore: a campaign of three clusters in waves [1, 2] creates and
// starts one migration, then two once the first completed; a failed migration halts the
// campaign with its reason and nothing new starts; a refused creation is recorded and halts;
// pausing stops new starts.
#include "scheduler/campaign_runner.h"

#include <gtest/gtest.h>

#include <set>

#include "common/clock.h"
#include "store/memory_store.h"

namespace pgshift::scheduler {
namespace {

class FakeMigrations : public CampaignMigrations {
 public:
  explicit FakeMigrations(MemoryStore& store) : store_(store) {}
  Status Create(const Campaign&, const std::string& cluster,
                const std::string& migration) override {
    if (refuse.count(cluster)) return FailedPrecondition(refuse[cluster]);
    if (created_elsewhere.count(cluster)) {
      // Another server created it a moment before us; our checks then see it in progress.
      MigrationRecord r;
      r.name = migration;
      RETURN_IF_ERROR(store_.Create(r, 1));
      return FailedPrecondition("cluster " + cluster + " has migration " + migration +
                                " in progress");
    }
    MigrationRecord r;
    r.name = migration;
    r.spec = {{"auto_cutover", true}};
    created.push_back(migration);
    return store_.Create(r, 1);
  }
  Status Start(const std::string& migration) override {
    started.push_back(migration);
    return store_.MergeControl(migration, {{"started", true}}, 1).status();
  }
  std::map<std::string, std::string> refuse;
  std::set<std::string> created_elsewhere;
  std::vector<std::string> created, started;

 private:
  MemoryStore& store_;
};

// Moves `name` along `path` as a runner would.
void Move(MemoryStore& store, const std::string& name, std::vector<Phase> path, double now,
          const std::string& reason = "step") {
  auto grant = store.AcquireRunner(name, "test", std::chrono::seconds(10), now, "");
  ASSERT_TRUE(grant.ok() && grant->acquired);
  Phase from = store.Get(name)->phase;
  for (Phase to : path) {
    ASSERT_TRUE(store.ApplyTransition(name, grant->lease, from, to, reason, {}, now).ok());
    from = to;
  }
  ASSERT_TRUE(store.ReleaseRunner(name, grant->lease).ok());
}

const std::vector<Phase> kToCompleted = {
    Phase::kReplicating, Phase::kValidating, Phase::kReadyForCutover, Phase::kPausing,
    Phase::kFencing,     Phase::kDraining,   Phase::kPromoting,       Phase::kSlotHandover,
    Phase::kSwitching,   Phase::kVerifying,  Phase::kCompleted};

class CampaignRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Advance(std::chrono::seconds(100));  // after every transition the tests write
    Campaign c;
    c.name = "spring";
    c.team = "payments";
    c.clusters = {"a", "b", "c"};
    c.waves = {1, 2};
    ASSERT_TRUE(store_.CreateCampaign({c.name, c.team, c.ToDocument(), 0, 0}, 0).ok());
  }
  std::string State() { return store_.GetCampaign("spring")->document["state"]; }

  MemoryStore store_;
  FakeMigrations apply_{store_};
  FakeClock clock_;
  CampaignRunner runner_{store_, store_, apply_, clock_};
};

TEST_F(CampaignRunnerTest, WavesRunInOrderAndTheCampaignCompletes) {
  ASSERT_TRUE(runner_.TickAll().ok());
  EXPECT_EQ(apply_.started, std::vector<std::string>({"spring-a"}));
  ASSERT_TRUE(runner_.TickAll().ok());  // idempotent: nothing new while a runs
  EXPECT_EQ(apply_.created.size(), 1u);
  EXPECT_EQ(apply_.started.size(), 1u);
  Move(store_, "spring-a", kToCompleted, 2);
  ASSERT_TRUE(runner_.TickAll().ok());
  EXPECT_EQ(apply_.created, std::vector<std::string>({"spring-a", "spring-b", "spring-c"}));
  Move(store_, "spring-b", kToCompleted, 3);
  Move(store_, "spring-c", kToCompleted, 3);
  ASSERT_TRUE(runner_.TickAll().ok());
  EXPECT_EQ(State(), "completed");
}

TEST_F(CampaignRunnerTest, AFailureHaltsWithItsReasonAndNothingNewStarts) {
  ASSERT_TRUE(runner_.TickAll().ok());
  Move(store_, "spring-a", {Phase::kReplicating, Phase::kFailed}, 2,
       "replicate: target dir cannot be created");
  ASSERT_TRUE(runner_.TickAll().ok());
  auto doc = store_.GetCampaign("spring")->document;
  EXPECT_EQ(doc["state"], "halted");
  EXPECT_NE(doc["halt_reason"].get<std::string>().find(
                "spring-a failed: replicate: target dir cannot be created"),
            std::string::npos)
      << doc["halt_reason"];
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(runner_.TickAll().ok());
  EXPECT_EQ(apply_.created, std::vector<std::string>({"spring-a"}));
}

TEST_F(CampaignRunnerTest, ARefusedCreationIsRecordedAndHalts) {
  apply_.refuse["a"] = "target dir /x is not empty";
  ASSERT_TRUE(runner_.TickAll().ok());
  auto doc = store_.GetCampaign("spring")->document;
  EXPECT_EQ(doc["create_errors"]["a"], "target dir /x is not empty");
  ASSERT_TRUE(runner_.TickAll().ok());
  EXPECT_EQ(State(), "halted");
  EXPECT_TRUE(apply_.created.empty());
}

// bench/fleet with two servers on one store: both ticked the campaign, one created
// spring-b first, the other's create then found it in progress; that was recorded as a
// refusal and halted a campaign whose every migration went on to complete.
TEST_F(CampaignRunnerTest, ACreationLostToAnotherServerIsNotARefusal) {
  apply_.created_elsewhere.insert("a");
  ASSERT_TRUE(runner_.TickAll().ok());
  ASSERT_TRUE(runner_.TickAll().ok());
  auto doc = store_.GetCampaign("spring")->document;
  EXPECT_FALSE(doc.contains("create_errors") && doc["create_errors"].contains("a")) << doc.dump();
  EXPECT_EQ(State(), "running");
  EXPECT_EQ(apply_.started, std::vector<std::string>({"spring-a"}));
}

TEST_F(CampaignRunnerTest, PausedStartsNothingUntilResumed) {
  ASSERT_TRUE(runner_.TickAll().ok());
  Move(store_, "spring-a", kToCompleted, 2);
  ASSERT_TRUE(store_.MergeCampaign("spring", {{"state", "paused"}}, 2).ok());
  ASSERT_TRUE(runner_.TickAll().ok());
  EXPECT_EQ(apply_.created.size(), 1u);
  ASSERT_TRUE(store_.MergeCampaign("spring", {{"state", "running"}}, 3).ok());
  ASSERT_TRUE(runner_.TickAll().ok());
  EXPECT_EQ(apply_.created.size(), 3u);
  auto members = runner_.Members(*Campaign::FromRecord(*store_.GetCampaign("spring")));
  ASSERT_TRUE(members.ok());
  EXPECT_TRUE((*members)[0].exists);
  EXPECT_EQ((*members)[0].phase, Phase::kCompleted);
}

}  // namespace
}  // namespace pgshift::scheduler
