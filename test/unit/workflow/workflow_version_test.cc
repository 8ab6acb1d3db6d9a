// Workflow versions: the compatibility table's decision (same version, newer recorded, a
// compatible and an incompatible older one, an older one the table does not list), and the
// engine recording the version on a migration's first turn and refusing, before any step and
// changing nothing, a migration started under a version it may not continue.
#include "workflow/workflow_version.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"
#include "workflow/engine.h"

namespace pgshift {
namespace {

const std::vector<WorkflowCompatibility> kTable = {
    {1, 3, true, "phase timings only"},
    {2, 3, false, "the fence step now records its layers before it acts"},
};

TEST(WorkflowVersion, TheSameVersionAlwaysContinues) {
  EXPECT_TRUE(CheckWorkflowVersion("m", 3, 3, {}).ok());
  EXPECT_TRUE(
      CheckWorkflowVersion("m", kWorkflowVersion, kWorkflowVersion, WorkflowCompatibilityTable())
          .ok());
}

TEST(WorkflowVersion, ACompatibleOlderVersionContinues) {
  EXPECT_TRUE(CheckWorkflowVersion("m", 1, 3, kTable).ok());
}

TEST(WorkflowVersion, AnIncompatibleOlderVersionIsRefusedWithTheTablesReason) {
  Status st = CheckWorkflowVersion("orders-1", 2, 3, kTable);
  ASSERT_EQ(st.code(), Code::kFailedPrecondition);
  const std::string& m = st.message();
  EXPECT_NE(m.find("orders-1"), std::string::npos) << m;
  EXPECT_NE(m.find("workflow version 2"), std::string::npos) << m;
  EXPECT_NE(m.find("workflow version 3"), std::string::npos) << m;
  EXPECT_NE(m.find("the fence step now records its layers before it acts"), std::string::npos) << m;
  EXPECT_NE(m.find("nothing was changed"), std::string::npos) << m;
}

TEST(WorkflowVersion, AnOlderVersionTheTableDoesNotListIsRefused) {
  Status st = CheckWorkflowVersion("m", 1, 4, kTable);
  ASSERT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("records no compatibility"), std::string::npos) << st.message();
}

TEST(WorkflowVersion, ANewerVersionIsRefusedWhateverTheTable) {
  std::vector<WorkflowCompatibility> permissive = {{5, 3, true, ""}};
  Status st = CheckWorkflowVersion("m", 5, 3, permissive);
  ASSERT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("newer pgshift"), std::string::npos) << st.message();
}

// Every row of this build's table is about an older version and this build's own.
TEST(WorkflowVersion, ThisBuildsTableListsOnlyOlderVersionsAgainstItsOwn) {
  for (const auto& row : WorkflowCompatibilityTable()) {
    EXPECT_LT(row.started_under, kWorkflowVersion);
    EXPECT_EQ(row.running, kWorkflowVersion);
    EXPECT_FALSE(row.reason.empty());
  }
}

class NoRouter : public Router {
 public:
  Status Pause(std::chrono::milliseconds, std::chrono::milliseconds) override {
    return Status::Ok();
  }
  Status Renew(std::chrono::milliseconds) override { return Status::Ok(); }
  Status Switch(const Endpoint&, uint64_t) override { return Status::Ok(); }
  Status Resume() override { return Status::Ok(); }
  std::string Describe() const override { return "none"; }
};

class EngineWorkflowVersionTest : public ::testing::Test {
 protected:
  void Create(Phase phase, nlohmann::json data) {
    MigrationRecord r;
    r.name = "m";
    r.phase = phase;
    r.spec = {{"name", "m"},
              {"source", "host=127.0.0.1 port=1 user=u"},
              {"target", "host=127.0.0.1 port=2 user=u"},
              {"platform", "external"}};
    r.data = std::move(data);
    ASSERT_TRUE(store_.Create(r, clock_.WallSeconds()).ok());
  }
  EngineSeams Seams() {
    EngineSeams s;
    s.owner = "thishost:1:a";
    s.router_factory = [](const MigrationSpec&) -> Result<std::unique_ptr<Router>> {
      return std::unique_ptr<Router>(new NoRouter);
    };
    s.steps = [this](Phase p) -> EngineSeams::StepFn {
      return [this, p](MigrationContext& ctx) -> Result<StepOutcome> {
        ++steps_run_;
        RETURN_IF_ERROR(ctx.Transition(p, static_cast<Phase>(static_cast<int>(p) + 1), "fake"));
        return StepOutcome::kMoved;
      };
    };
    return s;
  }
  FakeClock clock_;
  MemoryStore store_;
  std::unique_ptr<ProgressSink> progress_ = MakeSilentProgress();
  int steps_run_ = 0;
};

TEST_F(EngineWorkflowVersionTest, TheFirstTurnRecordsThisBuildsVersion) {
  Create(Phase::kCreated, nlohmann::json::object());
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(store_.Get("m")->data["workflow_version"], kWorkflowVersion);
  EXPECT_EQ(steps_run_, 1);
}

TEST_F(EngineWorkflowVersionTest, AMigrationInFlightWithoutAVersionIsTakenAsUnrecorded) {
  Create(Phase::kReplicating, {{"phase_started", {{"replicating", 1.0}}}});
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(store_.Get("m")->data["workflow_version"], kUnrecordedWorkflowVersion);
}

TEST_F(EngineWorkflowVersionTest, AMigrationOfANewerVersionIsRefusedBeforeAnyStep) {
  Create(Phase::kReplicating, {{"workflow_version", kWorkflowVersion + 1}});
  Engine engine(store_, clock_, *progress_, Seams());
  auto t = engine.Turn("m");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(t.status().message().find("newer pgshift"), std::string::npos) << t.status().message();
  EXPECT_EQ(steps_run_, 0);
  auto r = store_.Get("m");
  EXPECT_EQ(r->phase, Phase::kReplicating);
  EXPECT_EQ(r->data["workflow_version"], kWorkflowVersion + 1);
  EXPECT_TRUE(store_.Events("m")->empty());
  // The lease is given back: a server of the right version takes it at once.
  EXPECT_TRUE(
      store_.AcquireRunner("m", "newer:2:b", std::chrono::seconds(15), clock_.WallSeconds(), "")
          ->acquired);
}

}  // namespace
}  // namespace pgshift
