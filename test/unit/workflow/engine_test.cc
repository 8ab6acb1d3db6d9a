// The engine's decisions, with MemoryStore, a FakeClock, a fake router and fake steps (no
// servers): one step per turn, retries of kUnavailable with backoff, kAborted re-planned, a
// cutover error rolled back, an error before the cutover stopping the migration, operator
// requests, and the runner lease (typed busy answer, dead local holder taken over, a lost
// lease stopping the runner); a pause that lapsed in the held window (a failed renewal, this
// process frozen past the pause lease: docs/chaos.md finding 1) is taken again before the next
// step acts, or the cutover rolls back before the promotion; after it, it is retried, and the
// switch step resumes only from a pause confirmed again.
#include "workflow/engine.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "store/memory_store.h"
#include "workflow/steps.h"

namespace pgshift {
namespace {

using Kind = TurnOutcome::Kind;

// What the fake router answers, set by a test; the keeper thread renews concurrently.
struct RouterScript {
  std::mutex mu;
  std::deque<Status> pauses;  // the next pauses' answers (Ok once empty)
  Status renew;
  bool holds_sessions = false;
  std::function<void()> on_switch;
};

class FakeRouter : public Router {
 public:
  FakeRouter(std::vector<std::string>* calls, RouterScript* script)
      : calls_(calls), script_(script) {}
  Status Pause(std::chrono::milliseconds, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> l(script_->mu);
    Status st;
    if (!script_->pauses.empty()) {
      st = script_->pauses.front();
      script_->pauses.pop_front();
    }
    calls_->push_back(st.ok() ? "pause" : "pause refused");
    return st;
  }
  Status Renew(std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> l(script_->mu);
    return script_->renew;
  }
  Status Switch(const Endpoint&, uint64_t) override {
    calls_->push_back("switch");
    if (script_->on_switch) script_->on_switch();
    return Status::Ok();
  }
  Status Resume() override {
    calls_->push_back("resume");
    return Status::Ok();
  }
  std::string Describe() const override { return "fake"; }
  bool HoldsSessionsAcrossSwitch() const override { return script_->holds_sessions; }

 private:
  std::vector<std::string>* calls_;
  RouterScript* script_;
};

class FakeLiveness : public RunnerLiveness {
 public:
  bool IsDeadLocalRunner(const std::string& owner) const override { return dead.count(owner); }
  std::set<std::string> dead;
};

// The next phase on the happy path, for fake steps that just move on.
Phase Next(Phase p) {
  return p == Phase::kVerifying ? Phase::kCompleted : static_cast<Phase>(static_cast<int>(p) + 1);
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Create(Phase::kCreated); }

  void Create(Phase phase) {
    MigrationRecord r;
    r.name = "m";
    r.phase = phase;
    r.spec = {{"name", "m"},
              {"source", "host=127.0.0.1 port=1 user=u password=secret"},
              {"target", "host=127.0.0.1 port=2 user=u password=secret"},
              {"platform", "external"},
              {"pause_lease_ms", 4000}};
    ASSERT_TRUE(store_.Create(r, clock_.WallSeconds()).ok());
  }

  EngineSeams Seams() {
    EngineSeams s;
    s.owner = "thishost:1:a";
    s.liveness = &liveness_;
    s.router_factory = [this](const MigrationSpec&) -> Result<std::unique_ptr<Router>> {
      return std::unique_ptr<Router>(new FakeRouter(&router_calls_, &router_script_));
    };
    s.steps = [this](Phase p) -> EngineSeams::StepFn {
      if (real_steps_.contains(p)) return real_steps_[p];
      return [this, p](MigrationContext& ctx) -> Result<StepOutcome> {
        ++calls_[p];
        if (log_steps_) router_calls_.push_back("step " + std::string(PhaseName(p)));
        if (during_step_) during_step_();
        if (auto it = errors_.find(p); it != errors_.end() && !it->second.empty()) {
          Status st = it->second.front();
          it->second.erase(it->second.begin());
          return st;
        }
        if (p == Phase::kReadyForCutover && !ctx.record().cutover_requested) {
          return StepOutcome::kWaiting;
        }
        if (p == Phase::kRollingBack) {
          RETURN_IF_ERROR(ctx.Transition(p, Phase::kRolledBack, "rolled back"));
          return StepOutcome::kMoved;
        }
        RETURN_IF_ERROR(ctx.Transition(p, Next(p), "fake step"));
        return StepOutcome::kMoved;
      };
    };
    return s;
  }

  Phase PhaseNow() { return store_.Get("m")->phase; }

  FakeClock clock_;
  MemoryStore store_;
  FakeLiveness liveness_;
  std::unique_ptr<ProgressSink> progress_ = MakeSilentProgress();
  std::vector<std::string> router_calls_;  // the router's calls (and steps, with log_steps_)
  RouterScript router_script_;
  bool log_steps_ = false;
  std::map<Phase, EngineSeams::StepFn> real_steps_;
  std::map<Phase, int> calls_;
  std::map<Phase, std::vector<Status>> errors_;
  std::function<void()> during_step_;
};

TEST_F(EngineTest, ATurnRunsOneStepAndReturns) {
  Engine engine(store_, clock_, *progress_, Seams());
  auto t = engine.Turn("m");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, Kind::kMoved);
  EXPECT_EQ(t->phase, Phase::kReplicating);
  EXPECT_EQ(PhaseNow(), Phase::kReplicating);
  EXPECT_EQ(calls_[Phase::kCreated], 1);
  EXPECT_EQ(calls_[Phase::kReplicating], 0);
}

TEST_F(EngineTest, RunStopsAtTheGateWithoutWaitingThenCompletesOnceCutoverIsRequested) {
  Engine engine(store_, clock_, *progress_, Seams());
  auto r = engine.Run("m", {.wait_at_gate = false});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, Kind::kWaitingAtGate);
  EXPECT_EQ(r->phase, Phase::kReadyForCutover);
  ASSERT_TRUE(store_.RequestCutover("m", clock_.WallSeconds()).ok());
  r = engine.Run("m", {.wait_at_gate = false});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, Kind::kTerminal);
  EXPECT_EQ(r->phase, Phase::kCompleted);
  // The lease is released when Run returns: another runner may take it at once.
  EXPECT_TRUE(
      store_.AcquireRunner("m", "other:2:b", std::chrono::seconds(15), clock_.WallSeconds(), "")
          ->acquired);
}

TEST_F(EngineTest, UnavailableIsRetriedWithBackoff) {
  errors_[Phase::kCreated] = {Unavailable("source down"), Unavailable("source down")};
  Engine engine(store_, clock_, *progress_, Seams());
  auto start = clock_.Now();
  for (int i = 0; i < 2; ++i) {
    auto t = engine.Turn("m");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->kind, Kind::kMoved);
    EXPECT_EQ(PhaseNow(), Phase::kCreated);
  }
  EXPECT_EQ(clock_.Now() - start, std::chrono::milliseconds(100 + 200));
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(PhaseNow(), Phase::kReplicating);
  EXPECT_EQ(calls_[Phase::kCreated], 3);
}

TEST_F(EngineTest, AbortedIsReplannedWithoutFailing) {
  errors_[Phase::kCreated] = {Aborted("migration 'm' moved on")};
  Engine engine(store_, clock_, *progress_, Seams());
  auto t = engine.Turn("m");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(PhaseNow(), Phase::kCreated);
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(PhaseNow(), Phase::kReplicating);
}

TEST_F(EngineTest, AnErrorBeforeTheCutoverStopsTheMigrationForTheOperator) {
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kValidating));
  errors_[Phase::kValidating] = {FailedPrecondition("lag gate failed")};
  Engine engine(store_, clock_, *progress_, Seams());
  auto t = engine.Turn("m");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(PhaseNow(), Phase::kFailed);
  EXPECT_EQ(store_.Get("m")->data.value("failed_in", ""), "validating");
}

TEST_F(EngineTest, AnErrorInTheCutoverRollsItBack) {
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kFencing));
  errors_[Phase::kFencing] = {FailedPrecondition("cannot fence")};
  Engine engine(store_, clock_, *progress_, Seams());
  auto t = engine.Turn("m");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(PhaseNow(), Phase::kRollingBack);
  auto r = store_.Get("m");
  EXPECT_EQ(r->data.value("rollback_from", ""), "fencing");
  EXPECT_EQ(r->data.value("rollback_reason", ""), "cannot fence");
  // Resumed mid-cutover by a new engine: the sessions were held again before the step ran.
  EXPECT_EQ(router_calls_, std::vector<std::string>{"pause"});
  auto done = engine.Run("m", {});
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->phase, Phase::kRolledBack);
}

TEST_F(EngineTest, AnOperatorRollbackRequestIsTakenOnTheNextTurn) {
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  ASSERT_TRUE(store_.RequestRollback("m", {}, clock_.WallSeconds()).ok());
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(PhaseNow(), Phase::kRollingBack);
  EXPECT_EQ(calls_[Phase::kReplicating], 0);
}

TEST_F(EngineTest, ALiveHolderIsATypedAnswerAndNothingRuns) {
  ASSERT_TRUE(
      store_
          .AcquireRunner("m", "otherhost:7:z", std::chrono::seconds(15), clock_.WallSeconds(), "")
          ->acquired);
  Engine engine(store_, clock_, *progress_, Seams());
  auto t = engine.Turn("m");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, Kind::kHeldElsewhere);
  EXPECT_EQ(t->holder, "otherhost:7:z");
  EXPECT_EQ(t->phase, Phase::kCreated);
  EXPECT_TRUE(calls_.empty());
  // Once its lease lapses, the migration is taken over.
  clock_.Advance(std::chrono::seconds(16));
  t = engine.Turn("m");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, Kind::kMoved);
  EXPECT_EQ(PhaseNow(), Phase::kReplicating);
}

TEST_F(EngineTest, ADeadRunnerOnThisHostIsTakenOverAtOnce) {
  ASSERT_TRUE(store_
                  .AcquireRunner("m", "thishost:9:killed", std::chrono::seconds(15),
                                 clock_.WallSeconds(), "")
                  ->acquired);
  liveness_.dead.insert("thishost:9:killed");
  Engine engine(store_, clock_, *progress_, Seams());
  auto t = engine.Turn("m");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, Kind::kMoved);
  EXPECT_EQ(PhaseNow(), Phase::kReplicating);
}

TEST_F(EngineTest, ALostLeaseStopsTheRunnerBeforeItActs) {
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  // Partitioned past its TTL; another runner takes over.
  clock_.Advance(std::chrono::seconds(60));
  ASSERT_TRUE(
      store_
          .AcquireRunner("m", "otherhost:7:z", std::chrono::seconds(15), clock_.WallSeconds(), "")
          ->acquired);
  auto t = engine.Turn("m");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kAborted);
  EXPECT_NE(t.status().message().find("lease lost"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("'m'"), std::string::npos) << t.status().message();
  EXPECT_EQ(calls_[Phase::kReplicating], 0) << "no step may act without the lease";
  EXPECT_EQ(PhaseNow(), Phase::kReplicating);
  // It forgot the migration: a further turn finds the new holder.
  auto again = engine.Turn("m");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, Kind::kHeldElsewhere);
}

TEST_F(EngineTest, AWriteWithALostLeaseIsRefusedAndStopsTheRun) {
  // The lease is taken over while a step runs: its transition is refused by the store, and the
  // run stops instead of re-planning.
  Engine engine(store_, clock_, *progress_, Seams());
  during_step_ = [this] {
    clock_.Advance(std::chrono::seconds(60));
    ASSERT_TRUE(
        store_
            .AcquireRunner("m", "otherhost:7:z", std::chrono::seconds(15), clock_.WallSeconds(), "")
            ->acquired);
    during_step_ = nullptr;
  };
  auto r = engine.Run("m", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAborted);
  EXPECT_NE(r.status().message().find("lease lost"), std::string::npos) << r.status().message();
  EXPECT_EQ(PhaseNow(), Phase::kCreated);
  EXPECT_EQ(calls_[Phase::kCreated], 1);
}

TEST_F(EngineTest, TwoMigrationsAreDrivenTurnByTurnByOneEngine) {
  MigrationRecord r;
  r.name = "n";
  r.phase = Phase::kCreated;
  r.spec = store_.Get("m")->spec;
  ASSERT_TRUE(store_.Create(r, clock_.WallSeconds()).ok());
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  ASSERT_TRUE(engine.Turn("n").ok());
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(store_.Get("m")->phase, Phase::kValidating);
  EXPECT_EQ(store_.Get("n")->phase, Phase::kReplicating);
}

// The pause lease is 4 s in these tests (the spec's pause_lease_ms). The keeper thread renews on
// real time and may also see a failure or a gap first: either way the pause is lost, so what the
// turns do does not depend on which one saw it.
constexpr auto kPastTheLease = std::chrono::milliseconds(5000);
constexpr auto kPastHalfTheLease = std::chrono::milliseconds(2500);

TEST_F(EngineTest, AFailedRenewalBetweenTwoStepsPausesAgainBeforeTheNextStep) {
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kFencing));
  log_steps_ = true;
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  {
    std::lock_guard<std::mutex> l(router_script_.mu);
    router_script_.renew = Aborted(
        "proxy 127.0.0.1:1 renew appdb: refused: not paused (its "
        "lease may have lapsed)");
  }
  clock_.Advance(kPastHalfTheLease);  // the pause is due for renewal; the renewal fails
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(router_calls_,
            (std::vector<std::string>{"pause", "step fencing", "pause", "step draining"}));
  EXPECT_EQ(PhaseNow(), Phase::kPromoting);
}

TEST_F(EngineTest, AGapPastThePauseLeasePausesAgainEvenIfARenewalWouldSucceed) {
  // A process frozen (SIGSTOP) past the lease: its proxies resumed the sessions meanwhile, and
  // a renewal now could succeed against a pause someone else took since.
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kFencing));
  log_steps_ = true;
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  clock_.Advance(kPastTheLease);
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(router_calls_,
            (std::vector<std::string>{"pause", "step fencing", "pause", "step draining"}));
  EXPECT_EQ(PhaseNow(), Phase::kPromoting);
}

TEST_F(EngineTest, BeforeThePromotionAPauseThatCannotBeTakenAgainRollsBack) {
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kFencing));
  log_steps_ = true;
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  ASSERT_EQ(PhaseNow(), Phase::kDraining);
  {
    std::lock_guard<std::mutex> l(router_script_.mu);
    router_script_.pauses.push_back(
        FailedPrecondition("pause not acknowledged: the proxy answered 409"));
  }
  clock_.Advance(kPastTheLease);
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(PhaseNow(), Phase::kRollingBack);
  EXPECT_EQ(calls_[Phase::kDraining], 0) << "the drain must not run without the sessions held";
  auto r = store_.Get("m");
  EXPECT_EQ(r->data.value("rollback_from", ""), "draining");
  EXPECT_NE(r->data.value("rollback_reason", "").find("could not pause traffic again"),
            std::string::npos)
      << r->data.dump();
  EXPECT_EQ(r->data.value("rollback_after_promotion", true), false);
}

TEST_F(EngineTest, AfterThePromotionAPauseThatCannotBeTakenAgainIsRetriedBeforeTheStep) {
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kPromoting));
  log_steps_ = true;
  Engine engine(store_, clock_, *progress_, Seams());
  ASSERT_TRUE(engine.Turn("m").ok());
  ASSERT_EQ(PhaseNow(), Phase::kSlotHandover);
  {
    std::lock_guard<std::mutex> l(router_script_.mu);
    router_script_.pauses.push_back(
        Unavailable("pause not acknowledged: POST /v1/clusters/appdb/pause: Connection"));
  }
  clock_.Advance(kPastTheLease);
  auto retried = engine.Turn("m");
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(PhaseNow(), Phase::kSlotHandover);
  EXPECT_EQ(calls_[Phase::kSlotHandover], 0);
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(router_calls_, (std::vector<std::string>{"pause", "step promoting", "pause refused",
                                                     "pause", "step slot_handover"}));
  EXPECT_EQ(PhaseNow(), Phase::kSwitching);
}

TEST_F(EngineTest, TheSwitchResumesOnlyFromAPauseConfirmedAgainAfterItLapsedMidStep) {
  // The real switch step: this process freezes while it switches (the early switch, say), the
  // proxies' pause lapses; the resume must wait for a pause confirmed again.
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kSwitching));
  router_script_.holds_sessions = true;
  real_steps_[Phase::kSwitching] = RunSwitch;
  bool frozen_once = false;
  router_script_.on_switch = [&] {
    if (!frozen_once) clock_.Advance(kPastTheLease);
    frozen_once = true;
  };
  Engine engine(store_, clock_, *progress_, Seams());
  auto lapsed = engine.Turn("m");
  ASSERT_TRUE(lapsed.ok()) << lapsed.status().ToString();
  EXPECT_EQ(PhaseNow(), Phase::kSwitching);
  ASSERT_TRUE(engine.Turn("m").ok());
  EXPECT_EQ(PhaseNow(), Phase::kVerifying);
  EXPECT_EQ(router_calls_,
            (std::vector<std::string>{"pause", "switch", "pause", "switch", "resume"}));
}

TEST_F(EngineTest, ARollbackRetriesAnUnavailableProxyWithinItsWindowThenStops) {
  store_.SetRawPhaseForTest("m", static_cast<int>(Phase::kSwitching));
  ASSERT_TRUE(store_.RequestRollback("m", {}, clock_.WallSeconds()).ok());
  errors_[Phase::kRollingBack] = std::vector<Status>(
      300, Unavailable("pause not acknowledged: POST /v1/clusters/appdb/pause: Connection"));
  Engine engine(store_, clock_, *progress_, Seams());
  auto start = clock_.Now();
  auto r = engine.Run("m", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(PhaseNow(), Phase::kRollingBack) << "left for the operator's next run";
  // About three minutes of backoff, not the 240 retries (8 minutes) of other phases.
  EXPECT_GE(clock_.Now() - start, std::chrono::minutes(3));
  EXPECT_LT(clock_.Now() - start, std::chrono::minutes(4));
  EXPECT_LT(calls_[Phase::kRollingBack], 240);
}

}  // namespace
}  // namespace pgshift
