// Creating and starting a campaign's migrations.
#include "server/campaign_migrations.h"

#include "server/cluster_registration.h"
#include "server/migration_options.h"
#include "workflow/migration_control.h"

namespace pgshift::server {

Result<std::string> UnfinishedMigrationOf(ServerContext& ctx, const std::string& cluster) {
  ASSIGN_OR_RETURN(auto controls, ctx.control.AllControls());
  for (const auto& [name, control] : controls) {
    if (control.value("cluster", "") != cluster) continue;
    auto r = ctx.migrations.Get(name);
    if (r.ok() && !IsTerminal(r->phase)) return name;
  }
  return std::string();
}

Status ServerCampaignMigrations::Create(const scheduler::Campaign& campaign,
                                        const std::string& cluster_name,
                                        const std::string& migration) {
  if (ctx_.migrations.Get(migration).ok()) {
    return AlreadyExists("migration " + migration + " exists");
  }
  ASSIGN_OR_RETURN(ClusterRecord cluster, ctx_.control.GetCluster(cluster_name));
  if (cluster.team != campaign.team) {
    return FailedPrecondition("cluster " + cluster_name + " belongs to team " + cluster.team +
                              ", not to the campaign's team " + campaign.team);
  }
  ASSIGN_OR_RETURN(StartRequest request, StartRequestFor(cluster, migration));
  ApiError bad = ApplyMigrationOptions(campaign.migration_options, request.options);
  if (!bad.status.ok()) return bad.status;
  ASSIGN_OR_RETURN(std::string live, UnfinishedMigrationOf(ctx_, cluster_name));
  if (live == migration) return AlreadyExists("migration " + migration + " exists");
  if (!live.empty()) {
    return FailedPrecondition("cluster " + cluster_name + " has migration " + live +
                              " in progress");
  }
  MigrationControl control(ctx_.migrations, ctx_.clock);
  auto spec = control.Start(request);
  if (!spec.ok()) {
    // The source down or the store busy is retried; anything else is the cluster's state.
    if (spec.status().code() == Code::kUnavailable ||
        spec.status().code() == Code::kAlreadyExists) {
      return spec.status();
    }
    return FailedPrecondition(spec.status().message());
  }
  RETURN_IF_ERROR(ctx_.control
                      .MergeControl(migration,
                                    {{"cluster", cluster.name},
                                     {"team", cluster.team},
                                     {"campaign", campaign.name},
                                     {"created_by", "campaign:" + campaign.name},
                                     {"started", false}},
                                    ctx_.clock.WallSeconds())
                      .status());
  ctx_.live.Changed();
  return Status::Ok();
}

Status ServerCampaignMigrations::Start(const std::string& migration) {
  RETURN_IF_ERROR(
      ctx_.control.MergeControl(migration, {{"started", true}}, ctx_.clock.WallSeconds()).status());
  ctx_.live.Changed();
  return Status::Ok();
}

}  // namespace pgshift::server
