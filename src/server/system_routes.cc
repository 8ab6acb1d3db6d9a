// Health, identity, audit log, metrics and the web page's files.
#include <string>

#include "server/api_error.h"
#include "server/api_handler.h"
#include "server/api_routes.h"
#include "server/authorization.h"
#include "server/cutover_routes.h"
#include "web_assets/web_assets.h"

namespace pgshift::server {
namespace {

HttpResponse Asset(const std::string& path, const HttpErrorResponder& not_found) {
  const WebAsset* a = FindWebAsset(path);
  if (!a) return not_found(404, "no such file " + path);
  HttpResponse r = HttpResponse::Text(200, std::string(a->body), std::string(a->content_type));
  r.headers["cache-control"] = "no-cache";
  r.headers["x-content-type-options"] = "nosniff";
  r.headers["content-security-policy"] =
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";
  return r;
}

}  // namespace

const char* ServerVersion() { return "0.12.0"; }

void AddSystemRoutes(HttpRouteTable& routes, ServerContext& ctx) {
  routes.Add("GET", "/v1/health", [&ctx](const HttpRequest&) {
    ctx.metrics.CountResponse(200);
    return HttpResponse::Json(200, {{"status", "ok"}, {"version", ServerVersion()}});
  });
  routes.Add("GET", "/v1/whoami",
             Authenticated(ctx, "whoami", [](const HttpRequest&, const Caller& c, RequestAudit& a) {
               a.audit = false;
               return HttpResponse::Json(
                   200, {{"identity", c.identity}, {"team", c.team}, {"platform", c.platform}});
             }));
  routes.Add(
      "GET", "/v1/audit",
      Authenticated(ctx, "audit.read",
                    [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                      a.target = "audit";
                      RETURN_ERROR_RESPONSE(RequirePlatform(c, "the audit log"));
                      int limit = 100;
                      if (req.query.count("limit")) {
                        const std::string v = req.query.at("limit");
                        if (v.empty() || v.size() > 5 ||
                            v.find_first_not_of("0123456789") != std::string::npos ||
                            std::stoi(v) < 1 || std::stoi(v) > 10000) {
                          return ErrorResponse(
                              InvalidArgument("limit: give a number from 1 to 10000"), "limit");
                        }
                        limit = std::stoi(v);
                      }
                      const std::string team = req.query.count("team") ? req.query.at("team") : "";
                      auto entries = ctx.control.ListAudit(limit, team);
                      if (!entries.ok()) return ErrorResponse(entries.status());
                      nlohmann::json out = nlohmann::json::array();
                      for (const AuditEntry& e : *entries) {
                        out.push_back({{"at", e.at},
                                       {"identity", e.identity},
                                       {"team", e.team},
                                       {"action", e.action},
                                       {"target", e.target},
                                       {"result", e.result},
                                       {"status", e.status}});
                      }
                      return HttpResponse::Json(200, {{"entries", out}});
                    }));
  routes.Add("GET", "/metrics",
             Authenticated(ctx, "metrics.read",
                           [&ctx](const HttpRequest&, const Caller& c, RequestAudit& a) {
                             a.audit = false;
                             RETURN_ERROR_RESPONSE(RequirePlatform(c, "/metrics"));
                             return HttpResponse::Text(200, ctx.metrics.PrometheusText(),
                                                       "text/plain; version=0.0.4");
                           }));
  routes.Add("GET", "/", [](const HttpRequest&) { return Asset("/index.html", HttpErrorBody); });
  routes.Add("GET", "/ui/{file}", [](const HttpRequest& req) {
    return Asset("/" + req.PathParam("file"), HttpErrorBody);
  });
}

HttpRouteTable BuildApiRoutes(ServerContext& ctx) {
  HttpRouteTable routes;
  routes.SetErrorResponder(HttpErrorBody);
  AddSystemRoutes(routes, ctx);
  AddClusterRoutes(routes, ctx);
  AddMigrationRoutes(routes, ctx);
  AddStreamRoutes(routes, ctx);
  AddCutoverRoutes(routes, ctx);
  AddCampaignRoutes(routes, ctx);
  return routes;
}

}  // namespace pgshift::server
