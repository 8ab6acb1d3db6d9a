// CampaignRunner: applies PlanCampaign's actions. It reads a campaign and its members'
// migrations from the stores, plans, and acts through CampaignMigrations (the server creates
// and starts migrations exactly as POST /v1/migrations and .../start do) and the campaign's
// document (halted with its reason, completed, a cluster whose migration was refused).
//
// Every action is idempotent (a migration that already exists is not created again; starting
// twice is one start), so two servers ticking the same campaign, or a tick repeated after a
// crash, do no harm. The server calls TickAll about once a second.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "scheduler/campaign.h"
#include "scheduler/campaign_plan.h"
#include "store/control_store.h"
#include "store/migration_store.h"

namespace pgshift::scheduler {

// What applying a plan needs from the server.
class CampaignMigrations {
 public:
  virtual ~CampaignMigrations() = default;
  // Creates `migration` for `cluster` with the campaign's options, validated like any other.
  // kAlreadyExists when it exists; kUnavailable is retried on the next tick; any other error
  // is recorded as the member's refusal (a failure for the halt policy).
  virtual Status Create(const Campaign& campaign, const std::string& cluster,
                        const std::string& migration) = 0;
  // Asks the server to drive `migration` (control "started": true).
  virtual Status Start(const std::string& migration) = 0;
};

class CampaignRunner {
 public:
  CampaignRunner(ControlStore& control, MigrationStore& migrations, CampaignMigrations& apply,
                 Clock& clock)
      : control_(control), migrations_(migrations), apply_(apply), clock_(clock) {}

  // The members of `campaign` as the stores show them now.
  Result<std::vector<MemberStatus>> Members(const Campaign& campaign);
  // Plans and applies one campaign; returns the plan it applied.
  Result<CampaignPlan> Tick(const std::string& campaign);
  // Every running campaign; the first error (the others are still ticked).
  Status TickAll();

 private:
  ControlStore& control_;
  MigrationStore& migrations_;
  CampaignMigrations& apply_;
  Clock& clock_;
};

}  // namespace pgshift::scheduler
