// The cutover policy's routes (plan, arm, disarm, approve): added to the API by
// BuildApiRoutes. [cutover-policy]
#pragma once

#include "http/http_route_table.h"
#include "server/server_context.h"

namespace pgshift::server {

void AddCutoverRoutes(HttpRouteTable& routes, ServerContext& ctx);

}  // namespace pgshift::server
