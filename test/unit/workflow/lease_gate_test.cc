// The lease check before every action of a step (issue 13, I7), through the engine and the
// MigrationContext's seams: a runner whose lease is taken over between two actions of one step
// takes no further action. The router is a real RouteFileRouter (the route file is what a load
// reads) wrapped in a recorder, so what reached it is observed, not assumed; the store is
// MemoryStore (the contract tests hold every store to the same lease rules).
#include "workflow/lease_gate.h"

#include <gtest/gtest.h>

#include "fixture/temp_dir.h"
#include "store/memory_store.h"
#include "workflow/engine.h"
#include "workflow/route_file.h"

namespace pgshift {
namespace {

// Records every call that reached the real router behind it.
class RecordingRouter : public Router {
 public:
  RecordingRouter(std::unique_ptr<Router> inner, std::vector<std::string>* calls)
      : inner_(std::move(inner)), calls_(calls) {}
  Status Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) override {
    calls_->push_back("pause");
    return inner_->Pause(deadline, lease);
  }
  Status Renew(std::chrono::milliseconds lease) override { return inner_->Renew(lease); }
  Status Switch(const Endpoint& to, uint64_t version) override {
    calls_->push_back("switch");
    return inner_->Switch(to, version);
  }
  Status Resume() override {
    calls_->push_back("resume");
    return inner_->Resume();
  }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  std::unique_ptr<Router> inner_;
  std::vector<std::string>* calls_;
};

class LeaseGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MigrationRecord r;
    r.name = "orders-1";
    r.phase = Phase::kVerifying;  // after the held window: the engine pauses nothing itself
    r.spec = {{"name", "orders-1"},
              {"source", "host=127.0.0.1 port=1 user=u password=secret"},
              {"target", "host=127.0.0.1 port=2 user=u password=secret"},
              {"platform", "external"}};
    ASSERT_TRUE(store_.Create(r, clock_.WallSeconds()).ok());
    ASSERT_TRUE(WriteRouteFile(route_path_, {1, {"127.0.0.1", 1}, false}).ok());
  }

  EngineSeams Seams(std::function<Result<StepOutcome>(MigrationContext&)> step) {
    EngineSeams s;
    s.owner = "thishost:1:a";
    s.router_factory = [this](const MigrationSpec&) -> Result<std::unique_ptr<Router>> {
      return std::unique_ptr<Router>(
          new RecordingRouter(std::make_unique<RouteFileRouter>(route_path_), &calls_));
    };
    s.steps = [step](Phase) -> EngineSeams::StepFn { return step; };
    return s;
  }

  // Another server takes the lease over (its holder found dead, as a takeover would).
  void Steal() {
    auto g = store_.AcquireRunner("orders-1", "otherhost:2:b", std::chrono::seconds(15),
                                  clock_.WallSeconds(), "thishost:1:a");
    ASSERT_TRUE(g.ok() && g->acquired);
  }

  FakeClock clock_;
  MemoryStore store_;
  std::unique_ptr<ProgressSink> progress_ = MakeSilentProgress();
  testing::TempDir dir_;
  std::string route_path_ = dir_.path() + "/route.json";
  std::vector<std::string> calls_;
};

// The switch step's shape: pause, switch, resume. The lease is stolen after the pause: the
// switch and the resume never reach the router, the route file still points at the source,
// and the step's error is kAborted "lease lost" naming the migration and its phase.
TEST_F(LeaseGateTest, ALeaseStolenBetweenTwoRouterActionsStopsTheStep) {
  Status switched, resumed;
  Engine engine(
      store_, clock_, *progress_, Seams([&](MigrationContext& ctx) -> Result<StepOutcome> {
        RETURN_IF_ERROR(ctx.router().Pause(std::chrono::seconds(1), std::chrono::seconds(10)));
        Steal();
        switched = ctx.router().Switch({"127.0.0.1", 2}, 2);
        RETURN_IF_ERROR(switched);
        resumed = ctx.router().Resume();
        RETURN_IF_ERROR(resumed);
        return StepOutcome::kMoved;
      }));
  auto turn = engine.Turn("orders-1");
  EXPECT_EQ(calls_, std::vector<std::string>({"pause"}));
  EXPECT_EQ(switched.code(), Code::kAborted);
  EXPECT_NE(switched.message().find("lease lost"), std::string::npos) << switched.message();
  EXPECT_NE(switched.message().find("orders-1"), std::string::npos) << switched.message();
  EXPECT_NE(switched.message().find("verifying"), std::string::npos) << switched.message();
  EXPECT_NE(switched.message().find("router switch"), std::string::npos) << switched.message();
  auto route = ReadRouteFile(route_path_);
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->version, 1u);
  EXPECT_EQ(route->endpoint.port, 1);
  // The engine stops: the turn ends in kAborted and later turns find the lease held elsewhere.
  EXPECT_FALSE(turn.ok());
  EXPECT_EQ(turn.status().code(), Code::kAborted);
  auto again = engine.Turn("orders-1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->kind, TurnOutcome::Kind::kHeldElsewhere);
  EXPECT_EQ(calls_, std::vector<std::string>({"pause"}));
  EXPECT_EQ(store_.Get("orders-1")->phase, Phase::kVerifying);
}

// SQL a step sends goes through Source()/Target(): after the lease is lost neither hands out a
// connection (kAborted, without trying to connect), and the platform refuses its actions too.
TEST_F(LeaseGateTest, ALostLeaseRefusesConnectionsAndPlatformActions) {
  Status source, target, rewind;
  Engine engine(store_, clock_, *progress_,
                Seams([&](MigrationContext& ctx) -> Result<StepOutcome> {
                  Steal();
                  source = ctx.Source().status();
                  target = ctx.TargetDb("app").status();
                  rewind = ctx.platform().RewindToFollow(ctx.spec().target, ctx.clock());
                  return StepOutcome::kMoved;
                }));
  (void)engine.Turn("orders-1");
  EXPECT_EQ(source.code(), Code::kAborted) << source.ToString();
  EXPECT_NE(source.message().find("SQL on the source"), std::string::npos) << source.message();
  EXPECT_EQ(target.code(), Code::kAborted) << target.ToString();
  EXPECT_EQ(rewind.code(), Code::kAborted) << rewind.ToString();
  EXPECT_NE(rewind.message().find("platform rewind"), std::string::npos) << rewind.message();
}

// While the lease is held, the gate lets actions through (the recorder sees them all).
TEST_F(LeaseGateTest, AHeldLeaseLetsEveryActionThrough) {
  Engine engine(
      store_, clock_, *progress_, Seams([&](MigrationContext& ctx) -> Result<StepOutcome> {
        RETURN_IF_ERROR(ctx.router().Pause(std::chrono::seconds(1), std::chrono::seconds(10)));
        RETURN_IF_ERROR(ctx.router().Switch({"127.0.0.1", 2}, 2));
        RETURN_IF_ERROR(ctx.router().Resume());
        return StepOutcome::kWaiting;
      }));
  auto turn = engine.Turn("orders-1");
  ASSERT_TRUE(turn.ok()) << turn.status().ToString();
  EXPECT_EQ(calls_, std::vector<std::string>({"pause", "switch", "resume"}));
  EXPECT_EQ(ReadRouteFile(route_path_)->endpoint.port, 2);
}

}  // namespace
}  // namespace pgshift
