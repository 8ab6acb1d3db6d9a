// ServerCampaignMigrations: how a campaign's migrations are made by `pgshift server`, the
// same way POST /v1/migrations and POST .../start make them: the cluster's registration into a
// StartRequest, the campaign's options applied and judged, one unfinished migration per
// cluster, StartMigration's validation, then the control object (cluster, team, the campaign,
// created by "campaign:NAME"); Start marks it started and wakes the driver.
#pragma once

#include "scheduler/campaign_runner.h"
#include "server/server_context.h"

namespace pgshift::server {

class ServerCampaignMigrations : public scheduler::CampaignMigrations {
 public:
  explicit ServerCampaignMigrations(ServerContext& ctx) : ctx_(ctx) {}
  Status Create(const scheduler::Campaign& campaign, const std::string& cluster,
                const std::string& migration) override;
  Status Start(const std::string& migration) override;

 private:
  ServerContext& ctx_;
};

// The name of `cluster`'s migration that is not finished, "" when none (one at a time per
// cluster).
Result<std::string> UnfinishedMigrationOf(ServerContext& ctx, const std::string& cluster);

}  // namespace pgshift::server
