// Waves, soak, halt policy, and the progress summary of a campaign.
#include "scheduler/campaign_plan.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "scheduler/cutover_calendar.h"

namespace pgshift::scheduler {
namespace {

const MemberStatus* Find(const std::vector<MemberStatus>& members, const std::string& cluster) {
  for (const MemberStatus& m : members) {
    if (m.cluster == cluster) return &m;
  }
  return nullptr;
}

std::string FailureText(const MemberStatus& m) {
  if (!m.create_error.empty()) return m.migration + " could not be created: " + m.create_error;
  std::string text = m.migration + " " + std::string(PhaseName(m.phase));
  if (!m.failure.empty()) text += ": " + m.failure;
  return text;
}

// The halt reason, or "" when the policy tolerates what failed so far.
std::string HaltReason(const HaltPolicy& policy, const std::vector<const MemberStatus*>& failed,
                       int finished) {
  const int n = static_cast<int>(failed.size());
  if (n == 0) return "";
  bool halt = false;
  switch (policy.kind) {
    case HaltPolicy::Kind::kFirstFailure:
      halt = true;
      break;
    case HaltPolicy::Kind::kFailures:
      halt = n >= policy.failures;
      break;
    case HaltPolicy::Kind::kRate:
      halt = finished >= policy.min_finished &&
             static_cast<double>(n) / finished >= policy.rate - 1e-12;
      break;
  }
  if (!halt) return "";
  std::string reason = "halt policy (" + policy.Describe() + "): " + std::to_string(n) + " of " +
                       std::to_string(finished) +
                       " finished migrations failed: " + FailureText(*failed[0]);
  if (n > 1) reason += " (and " + std::to_string(n - 1) + " more)";
  return reason;
}

}  // namespace

bool MemberStatus::Failed() const {
  return !create_error.empty() ||
         (exists && (phase == Phase::kFailed || phase == Phase::kRolledBack));
}

bool MemberStatus::Finished() const { return Failed() || (exists && phase == Phase::kCompleted); }

CampaignPlan PlanCampaign(const Campaign& c, const std::vector<MemberStatus>& members, double now) {
  CampaignPlan plan;
  const auto waves = c.Waves();
  plan.waves = static_cast<int>(waves.size());
  if (c.state != CampaignState::kRunning) {
    // Where it stands, for its progress: the first wave with a member not finished.
    plan.wave = plan.waves;
    for (size_t w = 0; w < waves.size() && plan.wave == plan.waves; ++w) {
      for (const std::string& cluster : waves[w]) {
        const MemberStatus* m = Find(members, cluster);
        if (!m || !m->Finished()) plan.wave = static_cast<int>(w);
      }
    }
    plan.waiting = "campaign is " + CampaignStateName(c.state);
    return plan;
  }
  std::vector<const MemberStatus*> failed;
  int finished = 0;
  for (const std::string& cluster : c.clusters) {
    const MemberStatus* m = Find(members, cluster);
    if (!m) continue;
    if (m->Finished()) ++finished;
    // A failure the operator resumed the campaign past no longer counts toward a halt.
    const bool acknowledged =
        std::find(c.acknowledged_failures.begin(), c.acknowledged_failures.end(), cluster) !=
        c.acknowledged_failures.end();
    if (m->Failed() && !acknowledged) failed.push_back(m);
  }
  std::string halt = HaltReason(c.halt, failed, finished);
  if (!halt.empty()) {
    plan.actions.push_back({CampaignAction::Kind::kHalt, "", "", halt});
    plan.waiting = "halting";
    return plan;
  }
  for (size_t w = 0; w < waves.size(); ++w) {
    plan.wave = static_cast<int>(w);
    bool all_finished = true;
    double last_completion = 0;
    for (const std::string& cluster : waves[w]) {
      const MemberStatus* m = Find(members, cluster);
      const std::string migration = c.MigrationNameFor(cluster);
      if (!m || (!m->exists && m->create_error.empty())) {
        plan.actions.push_back({CampaignAction::Kind::kCreate, cluster, migration, ""});
        plan.actions.push_back({CampaignAction::Kind::kStart, cluster, migration, ""});
        all_finished = false;
        continue;
      }
      if (m->exists && !m->started && !m->Finished()) {
        plan.actions.push_back({CampaignAction::Kind::kStart, cluster, migration, ""});
      }
      if (!m->Finished()) {
        all_finished = false;
      } else if (m->exists && m->phase == Phase::kCompleted) {
        last_completion = std::max(last_completion, m->updated_at);
      }
    }
    if (!all_finished) {
      plan.waiting =
          "wave " + std::to_string(w + 1) + " of " + std::to_string(waves.size()) + " running";
      return plan;
    }
    if (last_completion > 0 && now < last_completion + c.soak_s) {
      plan.waiting = "wave " + std::to_string(w + 1) + " soaking until " +
                     FormatRfc3339(last_completion + c.soak_s);
      return plan;
    }
  }
  plan.wave = plan.waves;
  plan.actions.push_back({CampaignAction::Kind::kComplete, "", "", ""});
  return plan;
}

nlohmann::json CampaignProgressJson(const Campaign& c, const std::vector<MemberStatus>& members,
                                    double now) {
  nlohmann::json by_phase = nlohmann::json::object(), by_state = nlohmann::json::object();
  std::vector<double> durations;
  for (const std::string& cluster : c.clusters) {
    const MemberStatus* m = Find(members, cluster);
    std::string phase, state;
    if (m && !m->create_error.empty()) {
      phase = state = "refused";
    } else if (!m || !m->exists) {
      phase = state = "not_created";
    } else {
      phase = PhaseName(m->phase);
      state = m->started || IsTerminal(m->phase)
                  ? std::string(StateName(m->phase, m->cutover_requested, m->auto_cutover))
                  : "not_started";
      if (m->phase == Phase::kCompleted) durations.push_back(m->updated_at - m->created_at);
    }
    by_phase[phase] = by_phase.value(phase, 0) + 1;
    by_state[state] = by_state.value(state, 0) + 1;
  }
  CampaignPlan plan = PlanCampaign(c, members, now);
  nlohmann::json out = {{"clusters", c.clusters.size()},
                        {"by_phase", by_phase},
                        {"by_state", by_state},
                        {"wave", std::min(plan.wave + 1, plan.waves)},
                        {"waves", plan.waves},
                        {"waiting", plan.waiting},
                        {"eta_s", nullptr},
                        {"eta_basis", "no migration has completed yet"},
                        {"slowest", nullptr}};

  // The slowest unfinished migration: longest since it was created.
  const MemberStatus* slowest = nullptr;
  for (const MemberStatus& m : members) {
    if (!m.exists || m.Finished()) continue;
    if (!slowest || m.created_at < slowest->created_at) slowest = &m;
  }
  if (slowest) {
    double elapsed = now - slowest->created_at;
    std::string why =
        !slowest->waiting.empty()
            ? slowest->waiting
            : (!slowest->started ? std::string("not started yet")
                                 : "in phase " + std::string(PhaseName(slowest->phase)) +
                                       " since " + FormatRfc3339(slowest->updated_at));
    out["slowest"] = {{"migration", slowest->migration},
                      {"cluster", slowest->cluster},
                      {"phase", PhaseName(slowest->phase)},
                      {"elapsed_s", std::round(elapsed)},
                      {"why", why}};
  }

  if (c.state == CampaignState::kCompleted) {
    out["eta_s"] = 0;
    out["eta_basis"] = "completed";
  } else if (c.state != CampaignState::kRunning) {
    out["eta_basis"] = "campaign is " + CampaignStateName(c.state);
  } else if (!durations.empty()) {
    // Each wave's migrations run side by side: a wave takes about one migration's time (the
    // mean measured), less what its running members already spent, plus the soak after it.
    double mean = 0;
    for (double d : durations) mean += d;
    mean /= durations.size();
    const auto waves = c.Waves();
    double eta = 0;
    for (size_t w = plan.wave; w < waves.size(); ++w) {
      double wave_time = 0;
      for (const std::string& cluster : waves[w]) {
        const MemberStatus* m = Find(members, cluster);
        double left = mean;
        if (m && m->Finished())
          left = 0;
        else if (m && m->exists)
          left = std::max(0.0, mean - (now - m->created_at));
        wave_time = std::max(wave_time, left);
      }
      eta += wave_time + c.soak_s;
    }
    out["eta_s"] = std::round(eta);
    out["eta_basis"] = "mean of " + std::to_string(durations.size()) + " completed migration" +
                       (durations.size() == 1 ? "" : "s") + ": " +
                       std::to_string(static_cast<int>(std::lround(mean))) + " s, plus soak " +
                       std::to_string(static_cast<int>(std::lround(c.soak_s))) + " s per wave";
  }
  return out;
}

}  // namespace pgshift::scheduler
