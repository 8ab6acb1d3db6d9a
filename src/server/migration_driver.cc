// Driver threads, their progress sink, stop and resume.
#include "server/migration_driver.h"

#include <spdlog/spdlog.h>

#include "workflow/migration_control.h"

namespace pgshift::server {
namespace {

// Runs `call` for each observer; an observer that throws is logged and never stops the
// migration (webhooks and the like must not block or break a cutover).
template <typename Call>
void Tell(ServerContext& ctx, const std::string& name, const Call& call) {
  for (const auto& o : ctx.Observers()) {
    try {
      call(*o);
    } catch (const std::exception& e) {
      spdlog::error("server: an observer of migration {} failed: {}", name, e.what());
    } catch (...) {
      spdlog::error("server: an observer of migration {} failed", name);
    }
  }
}

// A driven migration's progress, to live status and the observers.
class DriverProgress : public ProgressSink {
 public:
  DriverProgress(ServerContext& ctx, std::string name) : ctx_(ctx), name_(std::move(name)) {}
  void Update(const ProgressUpdate& u) override {
    ctx_.live.Progress(name_, u, ctx_.clock.WallSeconds());
    Tell(ctx_, name_, [&](MigrationObserver& o) { o.OnProgress(name_, u); });
  }
  void Transition(Phase from, Phase to, const std::string& reason) override {
    ctx_.live.Changed();
    Tell(ctx_, name_, [&](MigrationObserver& o) { o.OnTransition(name_, from, to, reason); });
  }

 private:
  ServerContext& ctx_;
  std::string name_;
};

}  // namespace

MigrationDriver::MigrationDriver(ServerContext& ctx) : ctx_(ctx) {}

MigrationDriver::~MigrationDriver() { Stop(); }

void MigrationDriver::ReapLocked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->second->done) {
      if (it->second->thread.joinable()) it->second->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

Status MigrationDriver::Drive(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (stop_) return FailedPrecondition("the server is stopping");
  ReapLocked();
  if (workers_.count(name)) return Status::Ok();
  auto worker = std::make_unique<Worker>();
  Worker* w = worker.get();
  ++ctx_.metrics.drivers_running;
  worker->thread = std::thread([this, name, w] { Run(name, w); });
  workers_.emplace(name, std::move(worker));
  return Status::Ok();
}

bool MigrationDriver::Driving(const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = workers_.find(name);
  return it != workers_.end() && !it->second->done;
}

void MigrationDriver::Run(const std::string& name, Worker* worker) {
  std::string why;
  // A thread's exception would end the process: whatever escapes the run ends this driver only.
  try {
    DriverProgress progress(ctx_, name);
    MigrationControl control(ctx_.migrations, ctx_.clock);
    RunRequest request{.auto_cutover = false, .wait_at_gate = true, .stop = &stop_};
    auto report = control.Run(name, request, progress, [&](const std::string& holder) {
      spdlog::info("server: migration {} is driven by {}; following it", name, holder);
    });
    if (!report.ok()) {
      why = report.status().message();
    } else if (!report->outcome.ok() && !stop_) {
      why = report->outcome.message();
    }
  } catch (const std::exception& e) {
    why = std::string("internal error: ") + e.what();
  } catch (...) {
    why = "internal error";
  }
  if (!why.empty()) {
    ++ctx_.metrics.driver_runs_failed;
    spdlog::warn("server: migration {} stopped: {}", name, why);
    Tell(ctx_, name, [&](MigrationObserver& o) { o.OnFailure(name, why); });
  }
  ctx_.live.Changed();
  --ctx_.metrics.drivers_running;
  worker->done = true;
}

int MigrationDriver::ResumeStarted() {
  auto controls = ctx_.control.AllControls();
  if (!controls.ok()) {
    spdlog::error("server: cannot resume migrations: {}", controls.status().message());
    return 0;
  }
  int n = 0;
  for (const auto& [name, control] : *controls) {
    if (!control.value("started", false) || Driving(name)) continue;
    auto r = ctx_.migrations.Get(name);
    if (!r.ok() || IsTerminal(r->phase)) continue;
    // A failed migration waits for the operator (a rollback or start request drives it).
    if (r->phase == Phase::kFailed && !r->rollback_requested) continue;
    if (Drive(name).ok()) {
      spdlog::info("server: resuming migration {} ({})", name, PhaseName(r->phase));
      ++n;
    }
  }
  return n;
}

void MigrationDriver::ClaimStartedEvery(std::chrono::milliseconds period) {
  if (claimer_.joinable()) return;
  claimer_ = std::thread([this, period] {
    while (!stop_) {
      for (auto slept = std::chrono::milliseconds(0); slept < period && !stop_;
           slept += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!stop_) ResumeStarted();
    }
  });
}

void MigrationDriver::Stop() {
  stop_ = true;
  if (claimer_.joinable()) claimer_.join();
  std::map<std::string, std::unique_ptr<Worker>> workers;
  {
    std::lock_guard<std::mutex> l(mu_);
    workers.swap(workers_);
  }
  for (auto& [name, w] : workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace pgshift::server
