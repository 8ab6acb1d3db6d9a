// PlanCampaign: a campaign's next actions as a pure function of (campaign, its members'
// migrations, now), so that waves, soak times and halt policies are unit-tested without a
// server; CampaignRunner gathers the members from the store and applies the actions.
//
// Rules: only a running campaign acts. The halt policy is judged first (failed = a migration
// failed or rolled back, or one the server refused to create); a halt starts nothing new and
// leaves running migrations to finish or roll back. Waves go in order: a wave starts (its
// migrations are created and started) once every earlier wave finished (each member completed,
// or failed within what the halt policy tolerates) and its completed members stayed completed
// for the soak time after the wave's last completion. Completed means the migration verified
// its data at the fenced LSN and kept it (verification failing rolls it back, which counts as
// a failure). When every wave is finished and soaked, the campaign completes.
#pragma once

#include <string>
#include <vector>

#include "migration/phase.h"
#include "scheduler/campaign.h"

namespace pgshift::scheduler {

// One member cluster and its campaign migration as the store shows it.
struct MemberStatus {
  std::string cluster;
  std::string migration;  // Campaign::MigrationNameFor(cluster)
  bool exists = false;    // the migration was created
  bool started = false;   // the server was asked to drive it
  Phase phase = Phase::kCreated;
  bool cutover_requested = false;
  bool auto_cutover = false;
  double created_at = 0;
  double updated_at = 0;     // for a finished migration: when it finished
  std::string create_error;  // the server refused to create it (counts as a failure)
  std::string waiting;       // why the scheduler holds it (a limit, a window), if it does
  std::string failure;       // the last reason recorded when it failed or rolled back

  bool Failed() const;    // failed, rolled back, or refused at creation
  bool Finished() const;  // completed or Failed()
};

struct CampaignAction {
  enum class Kind { kCreate, kStart, kHalt, kComplete };
  Kind kind = Kind::kCreate;
  std::string cluster;    // kCreate
  std::string migration;  // kCreate, kStart
  std::string reason;     // kHalt
};

struct CampaignPlan {
  std::vector<CampaignAction> actions;
  int wave = 0;         // the wave in progress (0-based); waves count when all are done
  int waves = 0;        // how many waves there are
  std::string waiting;  // what the campaign waits for now ("wave 1 soaking until ...")
};

CampaignPlan PlanCampaign(const Campaign& campaign, const std::vector<MemberStatus>& members,
                          double now);

// GET /v1/campaigns/{name}'s "progress": counts by phase and state, the wave, the ETA from the
// measured durations of finished migrations (null before any finished), the slowest unfinished
// migration and why (its phase and how long, or what holds it).
nlohmann::json CampaignProgressJson(const Campaign& campaign,
                                    const std::vector<MemberStatus>& members, double now);

}  // namespace pgshift::scheduler
