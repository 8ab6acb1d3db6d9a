// The claim loop: ticks, admission, cutover checks, the worker pool.
#include "server/claim_loop.h"

#include <spdlog/spdlog.h>

#include "scheduler/admission.h"
#include "scheduler/cutover_calendar.h"
#include "server/campaign_migrations.h"
#include "workflow/runner_identity.h"

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

bool InCutover(Phase p) { return p >= Phase::kPausing && p <= Phase::kSwitching; }

// In its held window, or admitted to begin it (the mark is written under the admission lock
// and stays while the migration is still at the gate).
bool CountsAsCutover(Phase p, const nlohmann::json& control) {
  return InCutover(p) || (p == Phase::kReadyForCutover && control.value("cutover_admitted", false));
}

scheduler::RunningMigration AsRunning(const std::string& name, Phase phase,
                                      const nlohmann::json& control,
                                      const std::map<std::string, std::string>& host_of) {
  const std::string cluster = control.value("cluster", "");
  auto host = host_of.find(cluster);
  return {name, control.value("team", ""),
          host != host_of.end() ? host->second : std::string("localhost"),
          control.value("driver", ""), CountsAsCutover(phase, control)};
}

// What runs, as the admission lock shows the fleet: started, unfinished, admitted (or rolling
// back, never held back), and not stopped for the operator.
std::vector<scheduler::RunningMigration> RunningIn(
    const std::vector<FleetMember>& fleet, const std::map<std::string, std::string>& host_of) {
  std::vector<scheduler::RunningMigration> running;
  for (const FleetMember& f : fleet) {
    if (!f.control.value("started", false) || IsTerminal(f.phase)) continue;
    if (f.phase == Phase::kFailed && !f.rollback_requested) continue;
    if (!f.control.value("admitted", false) && !f.rollback_requested) continue;
    running.push_back(AsRunning(f.name, f.phase, f.control, host_of));
  }
  return running;
}

// Whether the migration's next turn would begin its cutover.
bool CutoverDue(const MigrationRecord& r) {
  const bool auto_cutover = r.spec.is_object() && r.spec.value("auto_cutover", false);
  return r.phase == Phase::kReadyForCutover && (r.cutover_requested || auto_cutover) &&
         !r.rollback_requested;
}

}  // namespace

// One migration's progress, to live status and the observers.
class ClaimLoop::Progress : public ProgressSink {
 public:
  Progress(ServerContext& ctx, std::string name) : ctx_(ctx), name_(std::move(name)) {}
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

class ClaimLoop::CampaignActions : public ServerCampaignMigrations {
 public:
  using ServerCampaignMigrations::ServerCampaignMigrations;
};

ClaimLoop::ClaimLoop(ServerContext& ctx, SchedulerConfig config, EngineSeams seams)
    : ctx_(ctx), config_(std::move(config)) {
  if (seams.owner.empty()) seams.owner = NewRunnerOwner();
  owner_ = seams.owner;
  liveness_ = seams.liveness ? seams.liveness : &RunnerLiveness::Real();
  seams.progress_for = [this](const std::string& name) { return ProgressFor(name); };
  silent_ = MakeSilentProgress();
  engine_ = std::make_unique<Engine>(ctx_.migrations, ctx_.clock, *silent_, std::move(seams));
  campaign_actions_ = std::make_unique<CampaignActions>(ctx_);
  campaigns_ = std::make_unique<scheduler::CampaignRunner>(ctx_.control, ctx_.migrations,
                                                           *campaign_actions_, ctx_.clock);
}

ClaimLoop::~ClaimLoop() { Stop(); }

ProgressSink* ClaimLoop::ProgressFor(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto& p = progress_[name];
  if (!p) p = std::make_unique<Progress>(ctx_, name);
  return p.get();
}

void ClaimLoop::Start() {
  if (started_.exchange(true)) return;
  ticker_ = std::thread([this] { TickLoop(); });
  for (int i = 0; i < std::max(1, config_.workers); ++i) {
    workers_.emplace_back([this] { WorkLoop(); });
  }
}

void ClaimLoop::Wake(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (!name.empty()) kicked_.insert(name);
  wake_ = true;
  tick_cv_.notify_all();
}

bool ClaimLoop::Driving(const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  return queued_or_turning_.count(name) > 0 || driving_.count(name) > 0;
}

int ClaimLoop::DrivingCount() const {
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> all = driving_;
  all.insert(queued_or_turning_.begin(), queued_or_turning_.end());
  return static_cast<int>(all.size());
}

void ClaimLoop::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    stopping_ = true;
    queue_.clear();
  }
  tick_cv_.notify_all();
  work_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  engine_.reset();  // releases every lease it holds
  ctx_.metrics.drivers_running = 0;
}

void ClaimLoop::TickLoop() {
  while (true) {
    std::vector<std::string> ready;
    try {
      ready = TickOnce();
    } catch (const std::exception& e) {
      spdlog::error("server: scheduler tick failed: {}", e.what());
    }
    for (const std::string& name : ready) Enqueue(name);
    std::unique_lock<std::mutex> l(mu_);
    tick_cv_.wait_for(l, std::chrono::milliseconds(tick_period_ms_.load()),
                      [this] { return stopping_ || wake_; });
    if (stopping_) return;
    wake_ = false;
  }
}

void ClaimLoop::Enqueue(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_ || !queued_or_turning_.insert(name).second) return;
  queue_.push_back(name);
  work_cv_.notify_one();
}

void ClaimLoop::WorkLoop() {
  while (true) {
    std::string name;
    {
      std::unique_lock<std::mutex> l(mu_);
      work_cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      name = queue_.front();
      queue_.pop_front();
    }
    // A thread's exception would end the process: whatever escapes a turn ends it as an error.
    Result<TurnOutcome> turn = Internal("internal error");
    try {
      turn = engine_->Turn(name);
    } catch (const std::exception& e) {
      turn = Internal(std::string("internal error: ") + e.what());
    } catch (...) {
    }
    AfterTurn(name, turn);
  }
}

void ClaimLoop::AfterTurn(const std::string& name, const Result<TurnOutcome>& turn) {
  std::string failure;
  bool again = false;
  if (!turn.ok()) {
    if (turn.status().code() != Code::kAborted) failure = turn.status().message();
    engine_->Forget(name);
  } else {
    switch (turn->kind) {
      case TurnOutcome::Kind::kMoved:
        // At the gate, the next turn may begin a cutover: the tick judges it first.
        again = turn->phase != Phase::kReadyForCutover && turn->phase != Phase::kFailed;
        break;
      case TurnOutcome::Kind::kWaitingAtGate:
        ctx_.live.Progress(name, {turn->phase, "waiting at the gate for a cutover request"},
                           ctx_.clock.WallSeconds());
        break;
      case TurnOutcome::Kind::kTerminal: {
        engine_->Forget(name);
        auto r = ctx_.migrations.Get(name);
        if (r.ok() && r->phase == Phase::kRolledBack && !r->rollback_requested) {
          auto events = ctx_.migrations.Events(name);
          failure = events.ok() && !events->empty() ? events->back().reason : "rolled back";
        }
        break;
      }
      case TurnOutcome::Kind::kHeldElsewhere: {
        std::lock_guard<std::mutex> l(mu_);
        held_[name] = {turn->holder_expires_at, turn->holder};
        break;
      }
    }
    if (turn->kind != TurnOutcome::Kind::kHeldElsewhere) {
      // This server drives it now: the per-server limit counts it here.
      auto control = ctx_.control.GetControl(name);
      if (control.ok() && control->value("driver", "") != owner_) {
        (void)ctx_.control.MergeControl(name, {{"driver", owner_}}, ctx_.clock.WallSeconds());
      }
    }
  }
  if (!failure.empty()) {
    ++ctx_.metrics.driver_runs_failed;
    spdlog::warn("server: migration {} stopped: {}", name, failure);
    Tell(ctx_, name, [&](MigrationObserver& o) { o.OnFailure(name, failure); });
  }
  ctx_.live.Changed();
  std::lock_guard<std::mutex> l(mu_);
  kicked_.erase(name);  // one turn per request: a migration failing again waits again
  const bool holds = turn.ok() && (turn->kind == TurnOutcome::Kind::kMoved ||
                                   turn->kind == TurnOutcome::Kind::kWaitingAtGate);
  if (!turn.ok() || turn->kind != TurnOutcome::Kind::kHeldElsewhere) held_.erase(name);
  if (holds) {
    driving_.insert(name);
  } else {
    driving_.erase(name);
  }
  ctx_.metrics.drivers_running = static_cast<int64_t>(driving_.size());
  if (again && !stopping_) {
    queue_.push_back(name);  // still in queued_or_turning_
    work_cv_.notify_one();
  } else {
    queued_or_turning_.erase(name);
  }
}

void ClaimLoop::SetWaiting(const std::string& name, const std::string& why,
                           const nlohmann::json& control) {
  if (control.value("waiting", "") == why) return;
  const double now = ctx_.clock.WallSeconds();
  (void)ctx_.control.MergeControl(
      name, {{"waiting", why.empty() ? nlohmann::json(nullptr) : nlohmann::json(why)}}, now);
  if (!why.empty()) (void)ctx_.control.AppendNote(name, "waiting: " + why, now);
  ctx_.live.Changed();
}

std::vector<std::string> ClaimLoop::TickOnce() {
  std::vector<std::string> ready;
  Status campaigns = campaigns_->TickAll();
  if (!campaigns.ok()) spdlog::warn("server: campaigns: {}", campaigns.message());

  auto records = ctx_.migrations.List();
  auto controls = ctx_.control.AllControls();
  auto clusters = ctx_.control.ListClusters("");
  if (!records.ok() || !controls.ok() || !clusters.ok()) {
    spdlog::warn("server: cannot read the fleet from the store");
    return ready;
  }
  std::map<std::string, std::string> host_of;
  for (const ClusterRecord& c : *clusters) {
    const auto& reg = c.registration;
    std::string conninfo;
    if (reg.contains("source") && reg["source"].is_object()) {
      conninfo = reg["source"].value("conninfo", "");
    }
    host_of[c.name] = scheduler::SourceHostOf(conninfo);
  }
  const double now = ctx_.clock.WallSeconds();
  std::set<std::string> kicked, busy;
  std::map<std::string, Held> held;
  {
    std::lock_guard<std::mutex> l(mu_);
    kicked = kicked_;
    busy = queued_or_turning_;
    held = held_;
  }

  struct Entry {
    const MigrationRecord* record;
    nlohmann::json control;
    scheduler::RunningMigration m;
  };
  std::vector<Entry> running, queued;
  for (const MigrationRecord& r : *records) {
    auto it = controls->find(r.name);
    if (it == controls->end() || !it->second.value("started", false)) continue;
    if (IsTerminal(r.phase)) continue;
    nlohmann::json control = it->second;
    // A cutover admission is spent once the migration left the gate (into its cutover, or
    // back out): forget it, so that a later visit to the gate is admitted anew.
    if (r.phase != Phase::kReadyForCutover && control.value("cutover_admitted", false)) {
      auto cleared = ctx_.control.MergeControl(r.name, {{"cutover_admitted", nullptr}}, now);
      if (cleared.ok()) control = *cleared;
    }
    // A failed migration waits for the operator: a rollback request, or a start (kicked).
    if (r.phase == Phase::kFailed && !r.rollback_requested && !kicked.count(r.name)) continue;
    Entry e{&r, control, AsRunning(r.name, r.phase, control, host_of)};
    // A rollback is never held back by the limits.
    const bool admitted = control.value("admitted", false) || r.rollback_requested;
    (admitted ? running : queued).push_back(std::move(e));
  }
  std::vector<scheduler::RunningMigration> running_set;
  for (const Entry& e : running) running_set.push_back(e.m);

  // Admission, first come first served (the store lists in creation order): refused at once
  // when the fleet as read already fills a limit, otherwise decided again under the store's
  // admission lock with the fleet as it is at that instant (another server may have admitted
  // since).
  for (Entry& e : queued) {
    const std::string& name = e.record->name;
    e.m.server = owner_;
    scheduler::Admission a = scheduler::AdmitStart(e.m, running_set, config_.limits);
    std::string refused = a.reason;
    bool admitted_elsewhere = false;
    Result<std::optional<nlohmann::json>> written = std::optional<nlohmann::json>();
    if (a.admit) {
      written = ctx_.control.AdmitUnderFleetLock(
          name,
          [&](const std::vector<FleetMember>& fleet) -> nlohmann::json {
            for (const FleetMember& f : fleet) {
              // Another server admitted it since this tick read the fleet: leave it be (the
              // next tick reads it as running).
              if (f.name == name && f.control.value("admitted", false)) {
                admitted_elsewhere = true;
                return nullptr;
              }
            }
            scheduler::Admission locked =
                scheduler::AdmitStart(e.m, RunningIn(fleet, host_of), config_.limits);
            if (!locked.admit) {
              refused = locked.reason;
              return nullptr;
            }
            return {{"admitted", true}, {"driver", owner_}, {"waiting", nullptr}};
          },
          now);
      if (!written.ok()) {
        spdlog::warn("server: cannot admit migration {}: {}", name, written.status().message());
        continue;
      }
    }
    if (admitted_elsewhere) continue;
    if (!written->has_value()) {
      SetWaiting(name, "queued: " + refused, e.control);
      continue;
    }
    e.control = **written;
    running_set.push_back(e.m);
    running.push_back(std::move(e));
  }

  // Turns for the admitted ones, cutovers through their limit and the calendar.
  for (Entry& e : running) {
    const std::string& name = e.record->name;
    if (busy.count(name)) continue;
    auto h = held.find(name);
    if (h != held.end() && now < h->second.until &&
        !liveness_->IsDeadLocalRunner(h->second.holder)) {
      continue;
    }
    if (CutoverDue(*e.record) && !e.m.in_cutover) {
      scheduler::CutoverDecision d = scheduler::CutoverAllowedAt(config_.calendar, e.m.team, now);
      if (!d.allowed) {
        SetWaiting(name, "cutover " + d.why, e.control);
        continue;
      }
      scheduler::Admission a = scheduler::AdmitCutover(e.m, running_set, config_.limits);
      std::string refused = a.reason;
      Result<std::optional<nlohmann::json>> written = std::optional<nlohmann::json>();
      if (a.admit) {
        written = ctx_.control.AdmitUnderFleetLock(
            name,
            [&](const std::vector<FleetMember>& fleet) -> nlohmann::json {
              scheduler::Admission locked =
                  scheduler::AdmitCutover(e.m, RunningIn(fleet, host_of), config_.limits);
              if (!locked.admit) {
                refused = locked.reason;
                return nullptr;
              }
              return {{"cutover_admitted", true}, {"waiting", nullptr}};
            },
            now);
        if (!written.ok()) {
          spdlog::warn("server: cannot admit the cutover of migration {}: {}", name,
                       written.status().message());
          continue;
        }
      }
      if (!written->has_value()) {
        SetWaiting(name, "cutover waits: " + refused, e.control);
        continue;
      }
      e.control = **written;
      e.m.in_cutover = true;
      for (auto& r : running_set) {
        if (r.name == name) r.in_cutover = true;
      }
    }
    SetWaiting(name, "", e.control);
    ready.push_back(name);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = held_.begin(); it != held_.end();) {
      it = now >= it->second.until ? held_.erase(it) : std::next(it);
    }
  }
  return ready;
}

}  // namespace pgshift::server
