// The cutover policy's threads and hooks in the server.
#include "server/cutover_policy.h"

#include "common/log.h"
#include "migration/migration_facts.h"
#include "migration/migration_spec.h"
#include "server/approvals.h"
#include "server/cutover_arming.h"
#include "server/migration_driver.h"
#include "server/rfc3339_time.h"
#include "workflow/cutover_gates.h"
#include "workflow/migration_control.h"

namespace pgshift::server {
namespace {

bool Sampled(Phase p) {
  return p == Phase::kReplicating || p == Phase::kValidating || p == Phase::kReadyForCutover;
}

}  // namespace

ApprovalPolicy ApprovalPolicyOf(const TeamConfig& team) {
  return {team.approval_required, team.approval_valid_for_s};
}

std::optional<Approval> RecordedApproval(const nlohmann::json& control) {
  if (!control.is_object() || !control.contains("approval")) return std::nullopt;
  auto a = Approval::FromJson(control["approval"]);
  if (!a.ok()) return std::nullopt;
  return *a;
}

Status CheckCutoverAllowed(ServerContext& ctx, const std::string& migration,
                           const std::string& team, const std::string& requester) {
  ApprovalPolicy policy = ApprovalPolicyOf(ctx.config.Team(team));
  if (!policy.required) return Status::Ok();
  ASSIGN_OR_RETURN(nlohmann::json control, ctx.control.GetControl(migration));
  Status ok = CheckApproval(policy, RecordedApproval(control), requester, ctx.clock.WallSeconds());
  if (!ok.ok()) return FailedPrecondition("migration '" + migration + "' " + ok.message());
  return ok;
}

// Webhooks and series from the driver.
class CutoverPolicy::Observer : public MigrationObserver {
 public:
  explicit Observer(CutoverPolicy& policy) : p_(policy) {}
  void OnTransition(const std::string& migration, Phase from, Phase to,
                    const std::string& reason) override {
    // The cutover (or a rollback) begins: the sampler's sessions leave the source before the
    // fence looks for client backends.
    if (!Sampled(to)) p_.sampler_.Forget(migration);
    Send("phase_changed", migration, std::string(PhaseName(from)), std::string(PhaseName(to)),
         reason);
  }
  // Progress reaches the series through LiveStatus::Progress (the driver calls it).
  void OnProgress(const std::string&, const ProgressUpdate&) override {}
  void OnFailure(const std::string& migration, const std::string& why) override {
    std::string phase;
    if (auto r = p_.ctx_.migrations.Get(migration); r.ok()) phase = PhaseName(r->phase);
    Send("failed", migration, phase, phase, why);
  }

 private:
  void Send(const std::string& event, const std::string& migration, const std::string& from,
            const std::string& to, const std::string& reason) {
    auto control = p_.ctx_.control.GetControl(migration);
    if (!control.ok()) return;
    const std::string team = control->value("team", "");
    if (team.empty()) return;
    TeamConfig tc = p_.ctx_.config.Team(team);
    if (tc.webhooks.empty()) return;
    p_.webhooks_.Enqueue(tc.webhooks, {event, migration, control->value("cluster", ""), team, from,
                                       to, reason, p_.ctx_.clock.WallSeconds()});
  }
  CutoverPolicy& p_;
};

CutoverPolicy::CutoverPolicy(ServerContext& ctx, CutoverPolicyOptions options)
    : ctx_(ctx),
      options_(options),
      webhooks_(options.webhooks),
      sampler_(
          ctx.live.series(), ctx.clock, [this] { return MigrationsToSample(); },
          options.lag_sample_every, [this] { ctx_.live.Changed(); }) {
  ctx_.cutover_policy = this;
  ctx_.AddObserver(std::make_shared<Observer>(*this));
  ctx_.cutover_gate = [this](const std::string& migration, const std::string& team,
                             const Caller& caller) {
    return CheckCutoverAllowed(ctx_, migration, team, caller.identity);
  };
}

CutoverPolicy::~CutoverPolicy() {
  Stop();
  Finish(std::chrono::milliseconds(0));
  if (ctx_.cutover_policy == this) ctx_.cutover_policy = nullptr;
}

void CutoverPolicy::Start() {
  sampler_.Start();
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void CutoverPolicy::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  sampler_.Stop();
}

void CutoverPolicy::Finish(std::chrono::milliseconds drain) {
  if (drain.count() > 0) (void)webhooks_.WaitIdle(drain);
  webhooks_.Stop();
  WebhookCounters c = webhooks_.Counters();
  ctx_.metrics.webhook_deliveries = c.delivered;
  ctx_.metrics.webhook_failures = c.attempts_failed + c.dropped;
}

void CutoverPolicy::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

void CutoverPolicy::Loop() {
  while (true) {
    TickArmed();
    WebhookCounters c = webhooks_.Counters();
    ctx_.metrics.webhook_deliveries = c.delivered;
    ctx_.metrics.webhook_failures = c.attempts_failed + c.dropped;
    std::unique_lock<std::mutex> l(mu_);
    wake_.wait_for(l, options_.tick, [this] { return stopping_ || woken_; });
    if (stopping_) break;
    woken_ = false;
  }
}

std::vector<SampledMigration> CutoverPolicy::MigrationsToSample() {
  std::vector<SampledMigration> out;
  auto all = ctx_.migrations.List();
  if (!all.ok()) return out;
  for (const MigrationRecord& r : *all) {
    if (!Sampled(r.phase)) continue;
    auto spec = MigrationSpec::FromJson(r.spec);
    if (!spec.ok()) continue;
    if (!ResolvePasswords(*spec).ok()) continue;
    out.push_back({r.name, spec->source, spec->target});
  }
  return out;
}

void CutoverPolicy::Note(const std::string& name, const std::string& text) {
  Status s = ctx_.control.AppendNote(name, text, ctx_.clock.WallSeconds());
  if (!s.ok()) spdlog::warn("server: {}: cannot record the note '{}': {}", name, text, s.message());
}

void CutoverPolicy::TickArmed() {
  std::lock_guard<std::mutex> one(tick_mu_);
  auto controls = ctx_.control.AllControls();
  if (!controls.ok()) {
    spdlog::warn("server: arming: cannot read the control objects: {}",
                 controls.status().message());
    return;
  }
  for (const auto& [name, control] : *controls) {
    if (control.contains("arm") && control["arm"].is_object()) {
      // Nothing one migration's record holds may stop the ticker (or end the process).
      try {
        ApplyTo(name, control);
      } catch (const std::exception& e) {
        spdlog::error("server: arming: migration {}: {}", name, e.what());
      }
    } else {
      waiting_for_.erase(name);
    }
  }
}

void CutoverPolicy::ApplyTo(const std::string& name, const nlohmann::json& control) {
  const double now = ctx_.clock.WallSeconds();
  // Every write below is conditional on the arm being the one this tick read (UpdateControl,
  // a compare-and-set in the store): an arm disarmed or replaced meanwhile (by a request, or
  // by another server's ticker) is left alone, and a disarm that returned 200 can never be
  // followed by this arm's cutover.
  const nlohmann::json armed = control["arm"];
  const nlohmann::json armed_at = armed.value("armed_at", nlohmann::json());
  auto if_still_armed = [&](const std::function<void(nlohmann::json&)>& change) {
    auto written = ctx_.control.UpdateControl(
        name,
        [&](nlohmann::json& c) {
          if (!c.contains("arm") || !c["arm"].is_object() ||
              c["arm"].value("armed_at", nlohmann::json()) != armed_at) {
            return false;
          }
          change(c);
          return true;
        },
        now);
    if (!written.ok()) {
      spdlog::warn("server: {}: cannot update the arm: {}", name, written.status().message());
      return false;
    }
    return written->has_value();
  };
  auto take_arm = [&] { return if_still_armed([](nlohmann::json& c) { c.erase("arm"); }); };
  auto disarm = [&](const std::string& note) {
    if (!take_arm()) return;
    if (!note.empty()) Note(name, note);
    waiting_for_.erase(name);
    ctx_.live.Changed();
  };
  auto arm = ArmState::FromJson(control["arm"]);
  if (!arm.ok()) {
    disarm("arm cleared: its record could not be read (" + arm.status().message() + ")");
    return;
  }
  // Judged on the migration as it is now.
  auto record = ctx_.migrations.Get(name);
  if (!record.ok()) return;
  auto spec = MigrationSpec::FromJson(record->spec);
  auto facts = MigrationFacts::FromJson(record->data);
  // The lag gate is judged below from a reading taken now; the sampled lag only explains a
  // wait that other gates cause anyway.
  std::vector<RedGate> red;
  if (!spec.ok() || !facts.ok()) {
    red.push_back({"record", "the migration's record cannot be read"});
  } else {
    red = RedCutoverGates(record->phase, *spec, *facts, std::nullopt);
    if (!red.empty()) {
      red = RedCutoverGates(record->phase, *spec, *facts,
                            ctx_.live.series().LatestLag(name, now, options_.lag_fresh_s));
    }
  }
  if (record->cutover_requested || record->rollback_requested) {
    disarm(std::string("arm cleared: a ") + (record->cutover_requested ? "cutover" : "rollback") +
           " was requested");
    return;
  }
  const std::string team = control.value("team", "");
  const bool approval_valid = CheckApproval(ApprovalPolicyOf(ctx_.config.Team(team)),
                                            RecordedApproval(control), arm->armed_by, now)
                                  .ok();
  ArmDecision d = DecideArmed(*arm, now, record->phase, red, approval_valid);
  if (d.action == ArmDecision::Action::kCutOverNow && spec.ok()) {
    // The lag gate, read now from the servers themselves.
    Result<LagReading> lag = options_.read_lag ? options_.read_lag(*spec) : ReadLagNow(*spec);
    if (!lag.ok()) {
      d = {ArmDecision::Action::kWait,
           "waiting for green gates: replication_lag (cannot be read now: " +
               lag.status().message() + ")",
           ""};
    } else {
      ctx_.live.series().RecordLag(name, now, lag->lag_bytes);
      if (lag->lag_bytes > spec->max_lag_bytes) {
        d = {ArmDecision::Action::kWait,
             "waiting for green gates: replication_lag (" + std::to_string(lag->lag_bytes) +
                 " bytes now, over max_lag_bytes " + std::to_string(spec->max_lag_bytes) + ")",
             ""};
      }
    }
  }
  switch (d.action) {
    case ArmDecision::Action::kWait:
      // Written when it changes (or the arm was replaced), not every second.
      if (std::string key = FormatRfc3339(arm->armed_at) + " " + d.why; waiting_for_[name] != key) {
        if (!if_still_armed([&](nlohmann::json& c) { c["arm"]["waiting_for"] = d.why; })) return;
        waiting_for_[name] = key;
        ctx_.live.Changed();
      }
      return;
    case ArmDecision::Action::kCutOverNow: {
      // The arm is taken first: a disarm that lands after this finds nothing to take back and
      // says so (409); one that landed before leaves nothing to take here.
      if (!take_arm()) return;
      MigrationControl migrations(ctx_.migrations, ctx_.clock);
      Status requested = migrations.RequestCutover(name);
      if (!requested.ok()) {
        spdlog::warn("server: {}: armed cutover not requested: {}", name, requested.message());
        // Put the arm back, unless a new one was set meanwhile: the next tick judges again.
        (void)ctx_.control.UpdateControl(
            name,
            [&](nlohmann::json& c) {
              if (c.contains("arm") && c["arm"].is_object()) return false;
              c["arm"] = armed;
              return true;
            },
            now);
        return;
      }
      spdlog::info("server: {}: armed cutover requested (gates green inside the window)", name);
      Note(name, "armed cutover requested by the window armed by " + arm->armed_by +
                     ": every gate green at " + FormatRfc3339(now));
      waiting_for_.erase(name);
      ctx_.live.Changed();
      if (ctx_.driver) {
        Status driving = ctx_.driver->Drive(name);
        if (!driving.ok()) spdlog::warn("server: {}: {}", name, driving.message());
      }
      return;
    }
    case ArmDecision::Action::kWindowEnded:
    case ArmDecision::Action::kDisarm:
      disarm(d.note);
      return;
  }
}

}  // namespace pgshift::server
