// The turn: dispatch by phase, one place for retries, rollback on cutover failures; the runner
// lease and the routers' pause lease kept alive on one background tick.
#include "workflow/engine.h"

#include <atomic>
#include <thread>

#include "common/log.h"
#include "workflow/steps.h"
#include "workflow/workflow_version.h"

namespace pgshift {
namespace {

using StepFn = Result<StepOutcome> (*)(MigrationContext&);

StepFn StepFor(Phase p) {
  switch (p) {
    case Phase::kCreated:
    case Phase::kReplicating:
      return RunReplicate;
    case Phase::kValidating:
      return RunValidate;
    case Phase::kReadyForCutover:
      return RunCutoverGate;
    case Phase::kPausing:
      return RunQuiesce;
    case Phase::kFencing:
      return RunFence;
    case Phase::kDraining:
      return RunDrain;
    case Phase::kPromoting:
      return RunPromote;
    case Phase::kSlotHandover:
      return RunSlotHandover;
    case Phase::kSwitching:
      return RunSwitch;
    case Phase::kVerifying:
      return RunVerify;
    case Phase::kRollingBack:
      return RunRollback;
    default:
      return nullptr;
  }
}

// Workflow versions (workflow_version.h): the first turn on a migration records the version of
// this build's step table; every engine taking a migration over checks the recorded version
// against its own table before it runs any step, and refuses (changing nothing) when the
// table says it may not continue it.
Status AdoptWorkflowVersion(MigrationContext& ctx) {
  const std::optional<int> recorded = ctx.facts().workflow_version;
  const int started_under = recorded                         ? *recorded
                            : ctx.phase() == Phase::kCreated ? kWorkflowVersion
                                                             : kUnrecordedWorkflowVersion;
  RETURN_IF_ERROR(CheckWorkflowVersion(ctx.record().name, started_under, kWorkflowVersion,
                                       WorkflowCompatibilityTable()));
  if (recorded || IsTerminal(ctx.phase())) return Status::Ok();
  return ctx.Record([&](MigrationFacts& f) { f.workflow_version = started_under; });
}

bool InCutover(Phase p) { return p >= Phase::kPausing && p <= Phase::kSwitching; }

// Whether a rollback from `from` must route back to the source (I3): the phase being left, or
// for a stopped migration the phase it stopped in. A stopped migration that did not record
// where (not written by any step today) counts as promoted if it ever entered kPromoting: the
// safe side, since treating a promoted target as a replica could leave two primaries.
bool PromotionRecorded(Phase from, const MigrationFacts& facts) {
  if (from != Phase::kFailed) return IsAfterPromotionRecorded(from);
  if (facts.failed_in) return IsAfterPromotionRecorded(*facts.failed_in);
  return facts.phase_started.contains(Phase::kPromoting);
}

Status StartRollback(MigrationContext& ctx, const std::string& reason) {
  Phase from = ctx.phase();
  bool after_promotion = PromotionRecorded(from, ctx.facts());
  return ctx.Transition(from, Phase::kRollingBack, reason, [&](MigrationFacts& f) {
    f.rollback_from = from;
    f.rollback_reason = reason;
    f.rollback_after_promotion = after_promotion;
  });
}

// A rollback retries an unavailable proxy or server (one being restarted) for this long, then
// stops for the operator: a proxy that answers nothing for minutes (stopped, partitioned) will
// not come back by waiting, and each try of a frozen one costs the pause deadline.
constexpr std::chrono::minutes kRollbackRetryWindow{3};

// Consecutive kUnavailable errors in one phase.
struct UnavailableStreak {
  int retries = 0;
  Clock::TimePoint since{};
};

// Handles a step's error: whether to retry, roll back, or stop. Returns ok to go on looping.
Status OnStepError(MigrationContext& ctx, const Status& err, UnavailableStreak& streak) {
  // Traffic is held during the cutover: a transient fault there gets a few quick retries, then
  // the cutover rolls back rather than keep applications waiting.
  const int64_t budget = InCutover(ctx.phase())
                             ? 10
                             : std::max<int64_t>(ctx.spec().validate_timeout.count() / 500, 240);
  if (err.code() == Code::kUnavailable) {
    if (streak.retries == 0) streak.since = ctx.clock().Now();
    const bool in_window = ctx.phase() != Phase::kRollingBack ||
                           ctx.clock().Now() - streak.since < kRollbackRetryWindow;
    if (++streak.retries < budget && in_window) {
      spdlog::info("{}: retrying in {}: {}", ctx.spec().name, PhaseName(ctx.phase()),
                   err.message());
      ctx.clock().SleepFor(std::chrono::milliseconds(std::min(100 * streak.retries, 2000)));
      ctx.DropConnections();
      return Status::Ok();
    }
  }
  if (err.code() == Code::kAborted) return Status::Ok();
  RETURN_IF_ERROR(ctx.Load());
  Phase p = ctx.phase();
  if (InCutover(p)) {
    RETURN_IF_ERROR(StartRollback(ctx, err.message()));
    return Status::Ok();
  }
  if (p != Phase::kFailed && p != Phase::kRollingBack && !IsTerminal(p)) {
    (void)ctx.Transition(p, Phase::kFailed, err.message(),
                         [p](MigrationFacts& f) { f.failed_in = p; });
  }
  return err;
}

// Before a cutover step acts, the sessions must be held by a pause this process confirmed
// within its lease (docs/chaos.md finding 1): after a restart none is; a failed renewal, or a
// steady-clock gap longer than the lease (this process was frozen), loses it. A confirmation
// older than half the lease is renewed first (the keeper renews at a third: it fell behind).
// Ok once the sessions are held; otherwise why they could not be held again.
Status HoldSessions(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  PauseLease& pause = ctx.pause_lease();
  Status held = pause.Held();
  if (held.ok()) {
    const auto age = pause.Age();
    if (age && *age < pause.lease() / 2) return Status::Ok();
    held = ctx.router().Renew(s.pause_lease);
    if (held.ok()) return Status::Ok();
  }
  spdlog::warn("{}: in {}, sessions are not known to be held ({}); pausing {} again", s.name,
               PhaseName(ctx.phase()), held.message(), ctx.router().Describe());
  ctx.progress().Update({ctx.phase(), "pausing again: " + held.message()});
  return ctx.router().Pause(s.pause_deadline, s.pause_lease);
}

// A migration stopped by a failed gate is re-judged when run again.
Status ReplanFailed(MigrationContext& ctx) {
  const std::optional<Phase> in = ctx.facts().failed_in;
  if (in == Phase::kValidating || in == Phase::kReplicating || in == Phase::kCreated) {
    Phase to = in == Phase::kValidating ? Phase::kValidating : Phase::kReplicating;
    return ctx.Transition(Phase::kFailed, to, "operator ran the migration again",
                          [](MigrationFacts& f) {
                            f.validate_started_at.reset();
                            f.failed_in.reset();
                          });
  }
  if (in == Phase::kVerifying && ctx.facts().cdc_pending) {
    return ctx.Transition(Phase::kFailed, Phase::kVerifying,
                          "operator ran the migration again: waiting for CDC consumers",
                          [](MigrationFacts& f) { f.failed_in.reset(); });
  }
  return FailedPrecondition(
      ctx.spec().name + " failed in " + (in ? std::string(PhaseName(*in)) : std::string()) + ": " +
      "run 'pgshift migrate rollback " + ctx.spec().name + "' to return to the source");
}

}  // namespace

// One migration this engine drives: its context and what the turns remember between them.
struct Engine::Migration {
  explicit Migration(std::unique_ptr<MigrationContext> c) : ctx(std::move(c)) {}
  std::unique_ptr<MigrationContext> ctx;
  std::mutex turn_mu;  // one turn at a time per migration
  UnavailableStreak unavailable;
  Phase last = Phase::kCreated;
  // In the cutover or a rollback: the keeper renews the pause (the router renews only a pause
  // this process confirmed and still holds).
  std::atomic<bool> pause_active{false};
  std::atomic<bool> lease_lost{false};
  std::atomic<bool> forgotten{false};  // released: the keeper leaves it alone
  // Keeper bookkeeping (keeper thread only).
  std::chrono::steady_clock::time_point next_runner_renew{}, next_pause_renew{};
};

Engine::Engine(MigrationStore& store, Clock& clock, ProgressSink& progress, EngineSeams seams)
    : store_(store), clock_(clock), progress_(progress), seams_(std::move(seams)) {
  if (!seams_.liveness) seams_.liveness = &RunnerLiveness::Real();
  if (seams_.owner.empty()) seams_.owner = NewRunnerOwner();
  keeper_ = std::thread([this] { KeepLeases(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  keeper_.join();
  std::map<std::string, std::shared_ptr<Migration>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    all.swap(migrations_);
  }
  for (auto& [name, m] : all) (void)store_.ReleaseRunner(name, m->ctx->lease());
}

void Engine::Forget(const std::string& name) {
  std::shared_ptr<Migration> m;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = migrations_.find(name);
    if (it == migrations_.end()) return;
    m = std::move(it->second);
    migrations_.erase(it);
  }
  m->forgotten = true;
  std::lock_guard<std::mutex> turn(m->turn_mu);  // a turn in flight ends first
  (void)store_.ReleaseRunner(name, m->ctx->lease());
}

// Renews every runner lease at a third of its TTL and, for migrations in the cutover, the
// routers' pause lease at a third of its length, so that a dead orchestrator holds neither.
void Engine::KeepLeases() {
  const auto runner_period = std::max(seams_.runner_ttl / 3, std::chrono::milliseconds(100));
  while (true) {
    std::vector<std::pair<std::string, std::shared_ptr<Migration>>> all;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
      all.assign(migrations_.begin(), migrations_.end());
    }
    auto now = std::chrono::steady_clock::now();
    for (auto& [name, m] : all) {
      if (m->lease_lost || m->forgotten) continue;
      if (now >= m->next_runner_renew) {
        m->next_runner_renew = now + runner_period;
        Status st =
            store_.RenewRunner(name, m->ctx->lease(), seams_.runner_ttl, clock_.WallSeconds());
        if (st.code() == Code::kAborted) {
          if (!m->forgotten) spdlog::warn("{}", st.message());
          m->lease_lost = true;  // the next turn stops (I7)
          continue;
        }
      }
      auto lease = m->ctx->spec().pause_lease;
      auto pause_period = std::max(lease / 3, std::chrono::milliseconds(100));
      if (!m->pause_active) {
        m->next_pause_renew = now + pause_period;
      } else if (now >= m->next_pause_renew) {
        m->next_pause_renew = now + pause_period;
        // A failure is recorded by the router in the context's PauseLease: the next turn
        // pauses again before its step acts.
        (void)m->ctx->router().Renew(lease);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::shared_ptr<Engine::Migration>> Engine::Acquire(const std::string& name,
                                                           TurnOutcome* held) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = migrations_.find(name);
    if (it != migrations_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(LeaseGrant g, store_.AcquireRunner(name, seams_.owner, seams_.runner_ttl,
                                                      clock_.WallSeconds(), ""));
  // A runner killed on this host is taken over at once (kill -9, then `migrate run`).
  if (!g.acquired && seams_.liveness->IsDeadLocalRunner(g.holder)) {
    spdlog::info("migration {}: runner {} is dead; taking its lease over", name, g.holder);
    ASSIGN_OR_RETURN(g, store_.AcquireRunner(name, seams_.owner, seams_.runner_ttl,
                                             clock_.WallSeconds(), g.holder));
  }
  if (!g.acquired) {
    ASSIGN_OR_RETURN(MigrationRecord r, store_.Get(name));
    held->kind = TurnOutcome::Kind::kHeldElsewhere;
    held->phase = r.phase;
    held->holder = g.holder;
    held->holder_expires_at = g.holder_expires_at;
    return std::shared_ptr<Migration>();
  }
  ProgressSink* sink = seams_.progress_for ? seams_.progress_for(name) : nullptr;
  auto ctx = std::make_unique<MigrationContext>(store_, name, clock_, sink ? *sink : progress_);
  if (seams_.router_factory) ctx->set_router_factory(seams_.router_factory);
  ctx->set_lease(g.lease);
  Status loaded = ctx->Load();
  if (loaded.ok()) loaded = AdoptWorkflowVersion(*ctx);
  if (!loaded.ok()) {
    (void)store_.ReleaseRunner(name, g.lease);
    return loaded;
  }
  auto m = std::make_shared<Migration>(std::move(ctx));
  m->last = m->ctx->phase();
  m->next_runner_renew = std::chrono::steady_clock::now() +
                         std::max(seams_.runner_ttl / 3, std::chrono::milliseconds(100));
  std::lock_guard<std::mutex> l(mu_);
  return migrations_.emplace(name, std::move(m)).first->second;
}

Result<TurnOutcome> Engine::Turn(const std::string& name) {
  TurnOutcome held;
  ASSIGN_OR_RETURN(std::shared_ptr<Migration> m, Acquire(name, &held));
  if (!m) return held;
  std::unique_lock<std::mutex> l(m->turn_mu);
  auto out = TurnLocked(*m);
  if (m->lease_lost) {
    l.unlock();
    Forget(name);
  }
  return out;
}

Result<TurnOutcome> Engine::TurnLocked(Migration& m) {
  MigrationContext& ctx = *m.ctx;
  const std::string name = ctx.record().name;
  auto moved = [&]() { return TurnOutcome{TurnOutcome::Kind::kMoved, ctx.phase(), "", 0}; };
  // I7: no step acts on a server unless this runner still holds the lease.
  auto expires = m.lease_lost ? Result<double>(LeaseLost(name, ctx.lease()))
                              : store_.CheckRunner(name, ctx.lease());
  if (!expires.ok()) {
    if (expires.status().code() == Code::kAborted) m.lease_lost = true;
    return expires.status();
  }
  const double ttl_s = std::chrono::duration<double>(seams_.runner_ttl).count();
  if (*expires - clock_.WallSeconds() < ttl_s / 3) {
    Status renewed = store_.RenewRunner(name, ctx.lease(), seams_.runner_ttl, clock_.WallSeconds());
    if (renewed.code() == Code::kAborted) m.lease_lost = true;
    RETURN_IF_ERROR(renewed);
  }

  RETURN_IF_ERROR(ctx.Load());
  Phase p = ctx.phase();
  if (p != m.last) m.unavailable = {};
  m.last = p;
  if (IsTerminal(p)) return TurnOutcome{TurnOutcome::Kind::kTerminal, p, "", 0};
  if (ctx.record().rollback_requested && p != Phase::kRollingBack) {
    RETURN_IF_ERROR(StartRollback(ctx, "operator requested rollback"));
    return moved();
  }
  if (p == Phase::kFailed) {
    RETURN_IF_ERROR(ReplanFailed(ctx));
    return moved();
  }
  m.pause_active = InCutover(p) || p == Phase::kRollingBack;
  // The pause may have lapsed (a restart, a failed renewal, this process frozen past the
  // lease): hold the sessions again before the step acts.
  if (InCutover(p) && p != Phase::kPausing) {
    Status held = HoldSessions(ctx);
    if (!held.ok() && held.code() == Code::kAborted &&
        store_.CheckRunner(name, ctx.lease()).status().code() == Code::kAborted) {
      m.lease_lost = true;
      return held;
    }
    if (!held.ok()) {
      const std::string why = "could not pause traffic again: " + held.message();
      if (p <= Phase::kDraining) {  // the source is still authoritative: back to it
        RETURN_IF_ERROR(StartRollback(ctx, why));
        return moved();
      }
      // The promotion's intent is recorded: the steps ahead end in a resume on the target,
      // which must come from held sessions. Retried; the retry path rolls back past its budget.
      RETURN_IF_ERROR(OnStepError(
          ctx, Unavailable(name + ": " + std::string(PhaseName(p)) + ": " + why), m.unavailable));
      return moved();
    }
  }
  EngineSeams::StepFn step = seams_.steps ? seams_.steps(p) : EngineSeams::StepFn(StepFor(p));
  if (!step) return Internal("no step for phase " + std::string(PhaseName(p)));
  auto out = step(ctx);
  // A lease check inside the step (LeaseGate) refused an action, or a write was refused: when
  // the lease is indeed gone, this runner stops here rather than turn again.
  if (!out.ok() && out.status().code() == Code::kAborted &&
      store_.CheckRunner(name, ctx.lease()).status().code() == Code::kAborted) {
    m.lease_lost = true;
    return out.status();
  }
  if (out.ok()) {
    if (*out == StepOutcome::kWaiting)
      return TurnOutcome{TurnOutcome::Kind::kWaitingAtGate, p, "", 0};
    return moved();
  }
  RETURN_IF_ERROR(OnStepError(ctx, out.status(), m.unavailable));
  return moved();
}

Result<TurnOutcome> Engine::Run(const std::string& name, const EngineOptions& options) {
  while (true) {
    auto turn = Turn(name);
    if (!turn.ok()) {
      Forget(name);
      return turn.status();
    }
    if (options.stop && options.stop->load() && turn->kind != TurnOutcome::Kind::kHeldElsewhere) {
      Forget(name);
      return turn;
    }
    switch (turn->kind) {
      case TurnOutcome::Kind::kMoved:
        continue;
      case TurnOutcome::Kind::kHeldElsewhere:
        return turn;
      case TurnOutcome::Kind::kTerminal:
        Forget(name);
        return turn;
      case TurnOutcome::Kind::kWaitingAtGate:
        if (!options.wait_at_gate) {
          Forget(name);
          return turn;
        }
        progress_.Update({turn->phase, "waiting for 'pgshift migrate cutover " + name + "'"});
        clock_.SleepFor(std::chrono::milliseconds(500));
        continue;
    }
  }
}

}  // namespace pgshift
