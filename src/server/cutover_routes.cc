// Placeholders for the cutover policy's routes until that part lands: each answers 501 with
// the API's error body (after authenticating and scoping the migration like every route), so
// that the paths exist and are documented. The cutover-policy work replaces this file.
#include "server/cutover_routes.h"

#include "server/api_error.h"
#include "server/api_handler.h"
#include "server/resource_access.h"

namespace pgshift::server {

void AddCutoverRoutes(HttpRouteTable& routes, ServerContext& ctx) {
  auto not_yet = [&ctx](std::string what) {
    return [&ctx, what](const HttpRequest& req, const Caller& caller, RequestAudit& audit) {
      const std::string name = req.PathParam("name");
      audit.target = "migration/" + name;
      auto m = FindVisibleMigration(ctx, caller, name);
      if (!m.ok()) return ErrorResponse(m.status());
      HttpResponse r = ErrorResponse(Internal(what + " is not available in this build yet"));
      r.status = 501;
      return r;
    };
  };
  routes.Add("GET", "/v1/migrations/{name}/plan",
             Authenticated(ctx, "migration.plan", not_yet("the cutover plan")));
  routes.Add("POST", "/v1/migrations/{name}/arm",
             Authenticated(ctx, "migration.arm", not_yet("arming a cutover")));
  routes.Add("POST", "/v1/migrations/{name}/disarm",
             Authenticated(ctx, "migration.disarm", not_yet("disarming a cutover")));
  routes.Add("POST", "/v1/migrations/{name}/approve",
             Authenticated(ctx, "migration.approve", not_yet("approving a cutover")));
}

}  // namespace pgshift::server
