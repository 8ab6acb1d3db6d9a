// Gathering a campaign's members and applying its plan.
#include "scheduler/campaign_runner.h"

namespace pgshift::scheduler {

Result<std::vector<MemberStatus>> CampaignRunner::Members(const Campaign& c) {
  std::vector<MemberStatus> out;
  for (const std::string& cluster : c.clusters) {
    MemberStatus m;
    m.cluster = cluster;
    m.migration = c.MigrationNameFor(cluster);
    auto err = c.create_errors.find(cluster);
    if (err != c.create_errors.end()) m.create_error = err->second;
    auto r = migrations_.Get(m.migration);
    if (r.ok()) {
      m.exists = true;
      m.phase = r->phase;
      m.cutover_requested = r->cutover_requested;
      m.auto_cutover = r->spec.is_object() && r->spec.value("auto_cutover", false);
      m.created_at = r->created_at;
      m.updated_at = r->updated_at;
      ASSIGN_OR_RETURN(nlohmann::json control, control_.GetControl(m.migration));
      m.started = control.value("started", false);
      m.waiting = control.value("waiting", "");
      if (m.phase == Phase::kFailed || m.phase == Phase::kRolledBack) {
        auto events = migrations_.Events(m.migration);
        if (events.ok() && !events->empty()) m.failure = events->back().reason;
      }
    } else if (r.status().code() != Code::kNotFound) {
      return r.status();
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<CampaignPlan> CampaignRunner::Tick(const std::string& name) {
  ASSIGN_OR_RETURN(CampaignRecord record, control_.GetCampaign(name));
  ASSIGN_OR_RETURN(Campaign c, Campaign::FromRecord(record));
  ASSIGN_OR_RETURN(std::vector<MemberStatus> members, Members(c));
  const double now = clock_.WallSeconds();
  CampaignPlan plan = PlanCampaign(c, members, now);
  if (!plan.actions.empty()) {
    // Paused or cancelled while we gathered: act on nothing (the next tick plans anew).
    ASSIGN_OR_RETURN(CampaignRecord again, control_.GetCampaign(name));
    if (again.document.value("state", "") != "running") return CampaignPlan{};
  }
  for (const CampaignAction& a : plan.actions) {
    switch (a.kind) {
      case CampaignAction::Kind::kCreate: {
        Status s = apply_.Create(c, a.cluster, a.migration);
        if (s.ok() || s.code() == Code::kAlreadyExists) break;
        if (s.code() == Code::kUnavailable) return s;  // the next tick tries again
        // Another server ticking the same campaign created it between our read and our
        // create (its migration is then the "one in progress" on the cluster): a lost race,
        // not a refusal.
        if (migrations_.Get(a.migration).ok()) break;
        RETURN_IF_ERROR(
            control_.MergeCampaign(name, {{"create_errors", {{a.cluster, s.message()}}}}, now)
                .status());
        // Judged again (the halt policy sees the refusal) on the next tick.
        return plan;
      }
      case CampaignAction::Kind::kStart:
        RETURN_IF_ERROR(apply_.Start(a.migration));
        break;
      case CampaignAction::Kind::kHalt:
        RETURN_IF_ERROR(
            control_.MergeCampaign(name, {{"state", "halted"}, {"halt_reason", a.reason}}, now)
                .status());
        break;
      case CampaignAction::Kind::kComplete:
        RETURN_IF_ERROR(control_.MergeCampaign(name, {{"state", "completed"}}, now).status());
        break;
    }
  }
  return plan;
}

Status CampaignRunner::TickAll() {
  ASSIGN_OR_RETURN(std::vector<CampaignRecord> all, control_.ListCampaigns(""));
  Status first = Status::Ok();
  for (const CampaignRecord& r : all) {
    if (r.document.value("state", "") != "running") continue;
    auto plan = Tick(r.name);
    if (!plan.ok() && first.ok()) first = plan.status();
  }
  return first;
}

}  // namespace pgshift::scheduler
