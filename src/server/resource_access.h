// Finding a cluster or a migration on behalf of a caller: the one place that applies the team
// scope to a single resource, so that a missing one and another team's one are answered
// alike (404, same message). A migration's owner comes from its control object (written when
// the server created it); one made outside the server (the CLI) has no team and only the
// platform team sees it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "server/caller.h"
#include "server/server_context.h"
#include "store/control_store.h"
#include "store/migration_store.h"

namespace pgshift::server {

struct VisibleMigration {
  MigrationRecord record;
  nlohmann::json control = nlohmann::json::object();
  std::string team;     // "" when not made by the server
  std::string cluster;  // "" when not made by the server
};

// kNotFound "no cluster named 'X'" when missing or not the caller's; store errors as they are.
Result<ClusterRecord> FindVisibleCluster(ServerContext& ctx, const Caller& caller,
                                         const std::string& name);
Result<VisibleMigration> FindVisibleMigration(ServerContext& ctx, const Caller& caller,
                                              const std::string& name);

}  // namespace pgshift::server
