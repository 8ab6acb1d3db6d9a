// The run loop: dispatch by phase, one place for retries, rollback on cutover failures.
#include "workflow/engine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/log.h"
#include "workflow/steps.h"

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

// Keeps the routers' pause lease alive while the cutover runs.
class LeaseKeeper {
 public:
  LeaseKeeper(MigrationContext& ctx)
      : ctx_(ctx), lease_(ctx.spec().pause_lease), thread_([this] { Loop(); }) {}
  ~LeaseKeeper() {
    stop_ = true;
    thread_.join();
  }
  std::atomic<bool> active{false};

 private:
  void Loop() {
    auto period = std::max(lease_ / 3, std::chrono::milliseconds(100));
    auto next = std::chrono::steady_clock::now() + period;
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (std::chrono::steady_clock::now() < next) continue;
      next += period;
      if (active) (void)ctx_.router().Renew(lease_);
    }
  }
  MigrationContext& ctx_;
  std::chrono::milliseconds lease_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Handles a step's error: whether to retry, roll back, or stop. Returns ok to go on looping.
Status OnStepError(MigrationContext& ctx, const Status& err, int& unavailable_retries) {
  // Traffic is held during the cutover: a transient fault there gets a few quick retries, then
  // the cutover rolls back rather than keep applications waiting.
  const int64_t budget = InCutover(ctx.phase())
                             ? 10
                             : std::max<int64_t>(ctx.spec().validate_timeout.count() / 500, 240);
  if (err.code() == Code::kUnavailable && ++unavailable_retries < budget) {
    spdlog::info("{}: retrying: {}", ctx.spec().name, err.message());
    ctx.clock().SleepFor(std::chrono::milliseconds(std::min(100 * unavailable_retries, 2000)));
    ctx.DropConnections();
    return Status::Ok();
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

Result<RunnerLock> RunnerLock::Acquire(const std::string& store_path, const std::string& name) {
  std::string path = store_path + "." + name + ".lock";
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot open lock file " + path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Aborted("another pgshift process is running migration '" + name + "'");
  }
  return RunnerLock(fd);
}

RunnerLock::~RunnerLock() {
  if (fd_ >= 0) close(fd_);
}

Result<Phase> Engine::Run(const EngineOptions& options) {
  ASSIGN_OR_RETURN(RunnerLock lock, RunnerLock::Acquire(store_.path(), name_));
  MigrationContext ctx(store_, name_, clock_, progress_);
  RETURN_IF_ERROR(ctx.Load());
  LeaseKeeper lease(ctx);
  int unavailable_retries = 0;
  bool repaused = false;
  Phase last = ctx.phase();
  while (true) {
    RETURN_IF_ERROR(ctx.Load());
    Phase p = ctx.phase();
    if (p != last) unavailable_retries = 0;
    last = p;
    if (IsTerminal(p)) return p;
    if (ctx.record().rollback_requested && p != Phase::kRollingBack) {
      RETURN_IF_ERROR(StartRollback(ctx, "operator requested rollback"));
      continue;
    }
    if (p == Phase::kFailed) {
      RETURN_IF_ERROR(ReplanFailed(ctx));
      continue;
    }
    lease.active = InCutover(p);
    // After a restart mid-cutover the pause may have lapsed: hold sessions again first.
    if (InCutover(p) && p != Phase::kPausing && !repaused) {
      Status again = ctx.router().Pause(ctx.spec().pause_deadline, ctx.spec().pause_lease);
      if (!again.ok() && p <= Phase::kDraining) {
        RETURN_IF_ERROR(StartRollback(
            ctx, "could not pause traffic again after a restart: " + again.message()));
        continue;
      }
    }
    repaused = true;
    StepFn step = StepFor(p);
    if (!step) return Internal("no step for phase " + std::string(PhaseName(p)));
    auto out = step(ctx);
    if (out.ok()) {
      if (*out == StepOutcome::kWaiting) {
        if (!options.wait_at_gate) return p;
        ctx.progress().Update({p, "waiting for 'pgshift migrate cutover " + name_ + "'"});
        clock_.SleepFor(std::chrono::milliseconds(500));
      }
      continue;
    }
    Status handled = OnStepError(ctx, out.status(), unavailable_retries);
    if (!handled.ok()) return handled;
  }
}

}  // namespace pgshift
