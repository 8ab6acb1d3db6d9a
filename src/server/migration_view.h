// The API's views of a migration: the summary a list shows, and the full JSON of
// GET /v1/migrations/{name} (MigrationStatusJson, its notes among the events, owner, series
// of the last hour, arm and approval from the control object, and which actions the phase
// allows now). Also the typed judgement of which action a phase allows, shared by the routes
// (which answer 409 otherwise) and the page (buttons).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/resource_access.h"
#include "server/server_config.h"
#include "server/server_context.h"
#include "store/control_store.h"

namespace pgshift::server {

enum class MigrationAction { kStart, kArm, kDisarm, kCutover, kRollback, kCancel, kApprove };

// Ok when `action` is possible for the migration now; kFailedPrecondition saying why not.
Status ActionAllowed(MigrationAction action, const MigrationRecord& record,
                     const nlohmann::json& control, const TeamConfig& team);
// {"start":bool,...}: ActionAllowed for each.
nlohmann::json ActionsJson(const MigrationRecord& record, const nlohmann::json& control,
                           const TeamConfig& team);

// {"name","cluster","team","phase","state","lag_bytes","updated_at"}.
nlohmann::json MigrationSummaryJson(const MigrationRecord& record, const nlohmann::json& control,
                                    const LiveStatus& live);

// The full view; notes are shown among the events ({"kind":"note"}), in time order.
Result<nlohmann::json> MigrationViewJson(ServerContext& ctx, const VisibleMigration& migration);

}  // namespace pgshift::server
