// The operator API over MemoryStore: phases judged typed, what a rollback request records,
// listing, and run-or-follow with the typed lease answer (follows a live runner, takes over a
// dead one on this host, stops following when the migration ends).
#include "workflow/migration_control.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "store/memory_store.h"
#include "workflow/router_spec.h"

namespace pgshift {
namespace {

class DeadSet : public RunnerLiveness {
 public:
  bool IsDeadLocalRunner(const std::string& owner) const override { return dead.count(owner); }
  std::set<std::string> dead;
};

class MigrationControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MigrationRecord r;
    r.name = "m";
    r.spec = {{"name", "m"},
              {"source", "host=127.0.0.1 port=1 user=u password=secret"},
              {"target", "host=127.0.0.1 port=2 user=u password=secret"},
              {"platform", "external"}};
    ASSERT_TRUE(store_.Create(r, 1).ok());
  }
  void SetPhase(Phase p) { store_.SetRawPhaseForTest("m", static_cast<int>(p)); }
  EngineSeams Seams() {
    EngineSeams s;
    s.owner = "thishost:1:a";
    s.liveness = &liveness_;
    // Every step completes the migration at once: these tests are about who runs it.
    s.steps = [this](Phase) -> EngineSeams::StepFn {
      return [this](MigrationContext& ctx) -> Result<StepOutcome> {
        ++steps_run_;
        RETURN_IF_ERROR(ctx.Transition(ctx.phase(), Phase::kRollingBack, "test"));
        RETURN_IF_ERROR(ctx.Transition(Phase::kRollingBack, Phase::kRolledBack, "test"));
        return StepOutcome::kMoved;
      };
    };
    return s;
  }
  FakeClock clock_;
  MemoryStore store_;
  DeadSet liveness_;
  int steps_run_ = 0;
  std::unique_ptr<ProgressSink> progress_ = MakeSilentProgress();
};

TEST(PhaseJudgement, CutoverAndRollbackArePossibleUntilTheEnd) {
  for (Phase p : {Phase::kCreated, Phase::kValidating, Phase::kReadyForCutover, Phase::kPausing,
                  Phase::kVerifying, Phase::kRollingBack}) {
    EXPECT_TRUE(CanCutover(p)) << PhaseName(p);
    EXPECT_TRUE(CanRollback(p)) << PhaseName(p);
  }
  EXPECT_TRUE(CanRollback(Phase::kFailed));
  EXPECT_FALSE(CanCutover(Phase::kFailed));
  for (Phase p : {Phase::kCompleted, Phase::kRolledBack}) {
    EXPECT_FALSE(CanCutover(p)) << PhaseName(p);
    EXPECT_FALSE(CanRollback(p)) << PhaseName(p);
  }
}

TEST_F(MigrationControlTest, RequestsAreRefusedByPhaseNamingTheMigration) {
  MigrationControl c(store_, clock_);
  SetPhase(Phase::kCompleted);
  Status st = c.RequestCutover("m");
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "m is completed; a cutover is not possible now");
  st = c.RequestRollback("m", {});
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "m is completed; nothing to roll back");
  EXPECT_EQ(c.RequestCutover("zz").code(), Code::kNotFound);
  EXPECT_EQ(c.RequestRollback("zz", {}).code(), Code::kNotFound);
}

TEST_F(MigrationControlTest, ARollbackKeepingTargetWritesIsRecordedWithTheRequest) {
  MigrationControl c(store_, clock_);
  SetPhase(Phase::kVerifying);
  ASSERT_TRUE(c.RequestRollback("m", {.keep_target_writes = true}).ok());
  auto r = store_.Get("m");
  EXPECT_TRUE(r->rollback_requested);
  EXPECT_EQ(r->data.value("rollback_keeps_target_writes", false), true);
  ASSERT_TRUE(c.RequestCutover("m").ok());
  EXPECT_TRUE(store_.Get("m")->cutover_requested);
}

TEST_F(MigrationControlTest, ListAndStatusShowNoSecret) {
  MigrationControl c(store_, clock_);
  auto all = c.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "m");
  EXPECT_EQ((*all)[0].state, "running");
  EXPECT_EQ((*all)[0].ToJson()["phase"], "created");
  auto s = c.StatusJson("m");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->dump().find("secret"), std::string::npos) << s->dump();
  EXPECT_EQ(c.StatusJson("zz").status().code(), Code::kNotFound);
}

TEST_F(MigrationControlTest, RunDrivesItHereAndReportsAnUnrequestedRollbackAsAFailure) {
  MigrationControl c(store_, clock_, Seams());
  auto rep = c.Run("m", {}, *progress_);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_FALSE(rep->followed);
  EXPECT_EQ(rep->status["state"], "rolled_back");
  EXPECT_EQ(rep->outcome.code(), Code::kFailedPrecondition);
  EXPECT_EQ(rep->outcome.message(), "m is rolled_back: test");
  EXPECT_EQ(c.Run("zz", {}, *progress_).status().code(), Code::kNotFound);
}

TEST_F(MigrationControlTest, RunFollowsALiveRunnerUntilTheMigrationEnds) {
  ASSERT_TRUE(store_
                  .AcquireRunner("m", "otherhost:5:x", std::chrono::hours(24 * 365),
                                 clock_.WallSeconds(), "")
                  ->acquired);
  MigrationControl c(store_, clock_, Seams());
  std::string followed;
  // The other runner finishes while we follow (the fake clock's sleep is our poll).
  std::thread other([&] {
    while (clock_.Now().time_since_epoch() < std::chrono::seconds(1)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    SetPhase(Phase::kCompleted);
  });
  auto rep = c.Run("m", {}, *progress_, [&](const std::string& holder) { followed = holder; });
  other.join();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(rep->followed);
  EXPECT_EQ(followed, "otherhost:5:x");
  EXPECT_EQ(steps_run_, 0) << "a live runner's migration is not run here";
  EXPECT_EQ(rep->status["state"], "completed");
  EXPECT_TRUE(rep->outcome.ok());
}

TEST_F(MigrationControlTest, RunTakesOverWhenTheFollowedRunnersLeaseLapses) {
  ASSERT_TRUE(
      store_
          .AcquireRunner("m", "otherhost:5:x", std::chrono::seconds(15), clock_.WallSeconds(), "")
          ->acquired);
  MigrationControl c(store_, clock_, Seams());
  auto rep = c.Run("m", {}, *progress_);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(rep->followed);
  EXPECT_EQ(steps_run_, 1);
  EXPECT_GE(clock_.Now().time_since_epoch(), std::chrono::seconds(15));
}

TEST_F(MigrationControlTest, RunTakesOverADeadRunnerOnThisHostAtOnce) {
  ASSERT_TRUE(
      store_.AcquireRunner("m", "thishost:9:k", std::chrono::hours(1), clock_.WallSeconds(), "")
          ->acquired);
  liveness_.dead.insert("thishost:9:k");
  MigrationControl c(store_, clock_, Seams());
  auto rep = c.Run("m", {}, *progress_);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_FALSE(rep->followed);
  EXPECT_EQ(steps_run_, 1);
}

TEST(RouterSpecTest, BuiltFromOptionsAndReadBackFromItsJson) {
  auto none = RouterSpec::FromOptions({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->ToJson(), nlohmann::json({{"kind", "none"}}));
  auto file = RouterSpec::FromOptions({.route_file = "/r.json"});
  EXPECT_EQ(file->ToJson(), nlohmann::json({{"kind", "file"}, {"path", "/r.json"}}));
  auto proxy = RouterSpec::FromOptions({.proxy_admins = {"127.0.0.1:1", "127.0.0.1:2"},
                                        .proxy_token_file = "/t",
                                        .proxy_cluster = "appdb"});
  ASSERT_TRUE(proxy.ok());
  nlohmann::json j = proxy->ToJson();
  EXPECT_EQ(j["kind"], "proxy");
  EXPECT_EQ(j["cluster"], "appdb");
  EXPECT_EQ(j["proxies"][1]["admin"], "127.0.0.1:2");
  EXPECT_EQ(j["proxies"][1]["token_file"], "/t");
  auto back = RouterSpec::FromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, RouterSpec::Kind::kProxy);
  EXPECT_EQ(back->proxies.size(), 2u);
  EXPECT_EQ(back->ToJson(), j);

  auto missing = RouterSpec::FromOptions({.proxy_admins = {"127.0.0.1:1"}});
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("--proxy-token-file"), std::string::npos);
  EXPECT_EQ(RouterSpec::FromJson({{"kind", "carrier-pigeon"}}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(RouterSpec::FromJson({{"kind", "proxy"}}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pgshift
