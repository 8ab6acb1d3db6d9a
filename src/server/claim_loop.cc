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
        held_until_[name] = turn->holder_expires_at;
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
  if (!turn.ok() || turn->phase == Phase::kFailed) kicked_.erase(name);
  const bool holds = turn.ok() && (turn->kind == TurnOutcome::Kind::kMoved ||
                                   turn->kind == TurnOutcome::Kind::kWaitingAtGate);
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
  std::set<std::string> kicked, cutover_admitted, busy;
  std::map<std::string, double> held;
  {
    std::lock_guard<std::mutex> l(mu_);
    kicked = kicked_;
    busy = queued_or_turning_;
    held = held_until_;
    // Forget cutover admissions that have moved on (into the cutover, or away from the gate).
    for (auto it = cutover_admitted_.begin(); it != cutover_admitted_.end();) {
      bool keep = false;
      for (const auto& r : *records) {
        if (r.name == *it) keep = r.phase == Phase::kReadyForCutover;
      }
      it = keep ? std::next(it) : cutover_admitted_.erase(it);
    }
    cutover_admitted = cutover_admitted_;
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
    const nlohmann::json& control = it->second;
    // A failed migration waits for the operator: a rollback request, or a start (kicked).
    if (r.phase == Phase::kFailed && !r.rollback_requested && !kicked.count(r.name)) continue;
    const std::string cluster = control.value("cluster", "");
    Entry e{
        &r,
        control,
        {r.name, control.value("team", ""),
         host_of.count(cluster) ? host_of[cluster] : std::string("localhost"),
         control.value("driver", ""), InCutover(r.phase) || cutover_admitted.count(r.name) > 0}};
    // A rollback is never held back by the limits.
    const bool admitted = control.value("admitted", false) || r.rollback_requested;
    (admitted ? running : queued).push_back(std::move(e));
  }
  std::vector<scheduler::RunningMigration> running_set;
  for (const Entry& e : running) running_set.push_back(e.m);

  // Admission, first come first served (the store lists in creation order).
  for (Entry& e : queued) {
    e.m.server = owner_;
    scheduler::Admission a = scheduler::AdmitStart(e.m, running_set, config_.limits);
    if (!a.admit) {
      SetWaiting(e.record->name, "queued: " + a.reason, e.control);
      continue;
    }
    auto written = ctx_.control.MergeControl(
        e.record->name, {{"admitted", true}, {"driver", owner_}, {"waiting", nullptr}}, now);
    if (!written.ok()) continue;
    e.control = *written;
    running_set.push_back(e.m);
    running.push_back(std::move(e));
  }

  // Turns for the admitted ones, cutovers through their limit and the calendar.
  for (Entry& e : running) {
    const std::string& name = e.record->name;
    if (busy.count(name)) continue;
    auto h = held.find(name);
    if (h != held.end() && now < h->second) continue;
    if (CutoverDue(*e.record) && !cutover_admitted.count(name)) {
      scheduler::Admission a = scheduler::AdmitCutover(e.m, running_set, config_.limits);
      scheduler::CutoverDecision d = scheduler::CutoverAllowedAt(config_.calendar, e.m.team, now);
      if (!d.allowed) {
        SetWaiting(name, "cutover " + d.why, e.control);
        continue;
      }
      if (!a.admit) {
        SetWaiting(name, "cutover waits: " + a.reason, e.control);
        continue;
      }
      for (auto& r : running_set) {
        if (r.name == name) r.in_cutover = true;
      }
      std::lock_guard<std::mutex> l(mu_);
      cutover_admitted_.insert(name);
    }
    SetWaiting(name, "", e.control);
    ready.push_back(name);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = held_until_.begin(); it != held_until_.end();) {
      it = now >= it->second ? held_until_.erase(it) : std::next(it);
    }
  }
  return ready;
}

}  // namespace pgshift::server
