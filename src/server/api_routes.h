// The routes of `pgshift server`, one function per route file, and BuildApiRoutes that puts
// them all in one table (with the API's error body for the table's own 404/405/500). Each
// handler is thin: it identifies the caller (Authenticated), looks the resource up in the
// caller's scope (resource_access.h), asks the typed judgement (migration_view.h,
// authorization.h) and answers; everything is testable through HttpRouteTable::Dispatch.
#pragma once

#include "http/http_route_table.h"
#include "server/server_context.h"

namespace pgshift::server {

// GET /v1/health, /v1/whoami, /v1/audit, /metrics, / and /ui/{file}.
void AddSystemRoutes(HttpRouteTable& routes, ServerContext& ctx);
// POST/GET /v1/clusters, GET /v1/clusters/{name}.
void AddClusterRoutes(HttpRouteTable& routes, ServerContext& ctx);
// POST/GET /v1/migrations, GET /v1/migrations/{name}, POST .../start|cutover|rollback|cancel.
void AddMigrationRoutes(HttpRouteTable& routes, ServerContext& ctx);
// GET /v1/migrations/{name}/stream and /v1/stream (server-sent events).
void AddStreamRoutes(HttpRouteTable& routes, ServerContext& ctx);

// POST/GET /v1/campaigns, GET /v1/campaigns/{name}, POST .../pause|resume|cancel.
void AddCampaignRoutes(HttpRouteTable& routes, ServerContext& ctx);

HttpRouteTable BuildApiRoutes(ServerContext& ctx);

// The server's version, as /v1/health answers it.
const char* ServerVersion();

}  // namespace pgshift::server
