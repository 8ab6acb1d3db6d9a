// Registering, reading and listing clusters.
#include "server/api_error.h"
#include "server/api_handler.h"
#include "server/api_routes.h"
#include "server/authorization.h"
#include "server/cluster_registration.h"
#include "server/migration_view.h"
#include "server/resource_access.h"

namespace pgshift::server {
namespace {

// Each cluster's latest migration ({"name","phase","state"}), from one read of the store.
Result<std::map<std::string, nlohmann::json>> LatestMigrations(ServerContext& ctx) {
  ASSIGN_OR_RETURN(auto controls, ctx.control.AllControls());
  ASSIGN_OR_RETURN(auto all, ctx.migrations.List());  // in creation order: the last one wins
  std::map<std::string, nlohmann::json> latest;
  for (const MigrationRecord& r : all) {
    auto it = controls.find(r.name);
    if (it == controls.end()) continue;
    const std::string cluster = it->second.value("cluster", "");
    if (cluster.empty()) continue;
    nlohmann::json s = MigrationSummaryJson(r, it->second, ctx.live);
    latest[cluster] = {{"name", s["name"]}, {"phase", s["phase"]}, {"state", s["state"]}};
  }
  return latest;
}

nlohmann::json ClusterWithMigration(const ClusterRecord& c,
                                    const std::map<std::string, nlohmann::json>& latest) {
  nlohmann::json j = ClusterJson(c);
  auto it = latest.find(c.name);
  j["migration"] = it == latest.end() ? nlohmann::json(nullptr) : it->second;
  return j;
}

HttpResponse Register(ServerContext& ctx, const HttpRequest& req, const Caller& caller,
                      RequestAudit& audit) {
  auto body = JsonObjectBody(req);
  if (!body.ok()) return ErrorResponse(body.status());
  if (body->contains("name") && (*body)["name"].is_string()) {
    audit.target = "cluster/" + (*body)["name"].get<std::string>();
  }
  // The team is judged first: a team registering for another learns nothing else.
  if (body->contains("team") && (*body)["team"].is_string()) {
    Status act = AuthorizeActFor(caller, (*body)["team"].get<std::string>());
    if (!act.ok()) return ErrorResponse(act, "team");
  }
  RegistrationResult parsed = ParseClusterRegistration(*body);
  if (!parsed.cluster) return ErrorResponse(parsed.error);
  Status created = ctx.control.CreateCluster(*parsed.cluster, ctx.clock.WallSeconds());
  if (!created.ok()) {
    // Another team's cluster of that name: the same answer as for one's own (names exist
    // in one namespace; the conflict says nothing of its owner).
    return ErrorResponse(created, created.code() == Code::kAlreadyExists ? "name" : "");
  }
  ctx.live.Changed();
  auto stored = ctx.control.GetCluster(parsed.cluster->name);
  if (!stored.ok()) return ErrorResponse(stored.status());
  nlohmann::json j = ClusterJson(*stored);
  j["migration"] = nullptr;
  return HttpResponse::Json(201, j);
}

}  // namespace

void AddClusterRoutes(HttpRouteTable& routes, ServerContext& ctx) {
  routes.Add("POST", "/v1/clusters",
             Authenticated(ctx, "cluster.register",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             return Register(ctx, req, c, a);
                           }));
  routes.Add("GET", "/v1/clusters",
             Authenticated(ctx, "cluster.list",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             a.audit = false;
                             const std::string requested =
                                 req.query.count("team") ? req.query.at("team") : "";
                             nlohmann::json out = nlohmann::json::array();
                             auto scope = ListScope(c, requested);
                             if (scope) {
                               auto clusters = ctx.control.ListClusters(*scope);
                               if (!clusters.ok()) return ErrorResponse(clusters.status());
                               auto latest = LatestMigrations(ctx);
                               if (!latest.ok()) return ErrorResponse(latest.status());
                               for (const auto& cl : *clusters)
                                 out.push_back(ClusterWithMigration(cl, *latest));
                             }
                             return HttpResponse::Json(200, {{"clusters", out}});
                           }));
  routes.Add("GET", "/v1/clusters/{name}",
             Authenticated(ctx, "cluster.read",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             const std::string name = req.PathParam("name");
                             a.target = "cluster/" + name;
                             auto cl = FindVisibleCluster(ctx, c, name);
                             if (!cl.ok()) return ErrorResponse(cl.status());
                             auto latest = LatestMigrations(ctx);
                             if (!latest.ok()) return ErrorResponse(latest.status());
                             return HttpResponse::Json(200, ClusterWithMigration(*cl, *latest));
                           }));
}

}  // namespace pgshift::server
