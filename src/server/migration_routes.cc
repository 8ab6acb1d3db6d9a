// Creating, listing, reading and acting on migrations.
#include <algorithm>
#include <optional>

#include "server/api_error.h"
#include "server/api_handler.h"
#include "server/api_routes.h"
#include "server/authorization.h"
#include "server/cluster_registration.h"
#include "server/migration_driver.h"
#include "server/migration_options.h"
#include "server/migration_view.h"
#include "server/resource_access.h"
#include "workflow/migration_control.h"

namespace pgshift::server {
namespace {

HttpResponse ViewOrError(ServerContext& ctx, const Caller& caller, const std::string& name,
                         int status) {
  auto m = FindVisibleMigration(ctx, caller, name);
  if (!m.ok()) return ErrorResponse(m.status());
  auto view = MigrationViewJson(ctx, *m);
  if (!view.ok()) return ErrorResponse(view.status());
  return HttpResponse::Json(status, *view);
}

Status DriveIfServing(ServerContext& ctx, const std::string& name) {
  if (!ctx.driver) return Status::Ok();
  return ctx.driver->Drive(name);
}

// Whether `cluster` has a migration that is not finished (one at a time per cluster).
Result<std::string> LiveMigrationOf(ServerContext& ctx, const std::string& cluster) {
  ASSIGN_OR_RETURN(auto controls, ctx.control.AllControls());
  for (const auto& [name, control] : controls) {
    if (control.value("cluster", "") != cluster) continue;
    auto r = ctx.migrations.Get(name);
    if (r.ok() && !IsTerminal(r->phase)) return name;
  }
  return std::string();
}

HttpResponse Create(ServerContext& ctx, const HttpRequest& req, const Caller& caller,
                    RequestAudit& audit) {
  auto body = JsonObjectBody(req);
  if (!body.ok()) return ErrorResponse(body.status());
  for (const auto& [k, v] : body->items()) {
    if (k != "name" && k != "cluster" && k != "options") {
      return ErrorResponse(InvalidArgument(k + ": unknown field"), k);
    }
  }
  if (!body->contains("name") || !(*body)["name"].is_string()) {
    return ErrorResponse(InvalidArgument("name: missing (a string)"), "name");
  }
  const std::string name = (*body)["name"];
  audit.target = "migration/" + name;
  if (!body->contains("cluster") || !(*body)["cluster"].is_string()) {
    return ErrorResponse(InvalidArgument("cluster: missing (a string)"), "cluster");
  }
  const std::string cluster_name = (*body)["cluster"];
  auto cluster = FindVisibleCluster(ctx, caller, cluster_name);
  if (!cluster.ok()) {
    return ErrorResponse(cluster.status(),
                         cluster.status().code() == Code::kNotFound ? "cluster" : "");
  }
  auto request = StartRequestFor(*cluster, name);
  if (!request.ok()) return ErrorResponse(request.status(), "cluster");
  ApiError bad = ApplyMigrationOptions(body->value("options", nlohmann::json()), request->options);
  if (!bad.status.ok()) return ErrorResponse(bad);
  // Names are one namespace; another team's migration of that name is a plain conflict.
  if (ctx.migrations.Get(name).ok()) {
    return ErrorResponse(AlreadyExists("a migration named '" + name + "' already exists"), "name");
  }
  auto live = LiveMigrationOf(ctx, cluster->name);
  if (!live.ok()) return ErrorResponse(live.status());
  if (!live->empty()) {
    return ErrorResponse(FailedPrecondition("cluster '" + cluster->name + "' has migration '" +
                                            *live + "' in progress; finish or cancel it first"),
                         "cluster");
  }
  MigrationControl control(ctx.migrations, ctx.clock);
  auto spec = control.Start(*request);
  if (!spec.ok()) {
    // The caller is not at fault when the source refuses the cluster's credentials or a
    // database is missing: those are the cluster's state (409), not the API's 401/403/404.
    Status st = spec.status();
    std::string field = "cluster";
    switch (st.code()) {
      case Code::kInvalidArgument:
        if (st.message().rfind("migration name", 0) == 0) field = "name";
        break;
      case Code::kAlreadyExists:
        field = "name";
        break;
      case Code::kUnavailable:
      case Code::kDeadlineExceeded:
        break;
      default:
        st = FailedPrecondition(st.message());
    }
    return ErrorResponse(st, field);
  }
  auto written = ctx.control.MergeControl(name,
                                          {{"cluster", cluster->name},
                                           {"team", cluster->team},
                                           {"created_by", caller.identity},
                                           {"started", false}},
                                          ctx.clock.WallSeconds());
  if (!written.ok()) return ErrorResponse(written.status());
  ctx.live.Changed();
  return ViewOrError(ctx, caller, name, 201);
}

HttpResponse List(ServerContext& ctx, const HttpRequest& req, const Caller& caller) {
  auto q = [&](const char* k) { return req.query.count(k) ? req.query.at(k) : std::string(); };
  nlohmann::json out = nlohmann::json::array();
  auto scope = ListScope(caller, q("team"));
  if (!scope) return HttpResponse::Json(200, {{"migrations", out}});
  const std::string phase = q("phase"), state = q("state"), cluster = q("cluster");
  if (!phase.empty()) {
    Phase p;
    if (!ParsePhaseName(phase, &p)) {
      return ErrorResponse(InvalidArgument("phase: '" + phase + "' is not a phase"), "phase");
    }
  }
  auto all = ctx.migrations.List();
  if (!all.ok()) return ErrorResponse(all.status());
  auto controls = ctx.control.AllControls();
  if (!controls.ok()) return ErrorResponse(controls.status());
  for (const MigrationRecord& r : *all) {
    auto it = controls->find(r.name);
    const nlohmann::json control = it == controls->end() ? nlohmann::json::object() : it->second;
    const std::string team = control.value("team", "");
    if (!CanSee(caller, team)) continue;
    if (!scope->empty() && team != *scope) continue;
    nlohmann::json s = MigrationSummaryJson(r, control, ctx.live);
    if (!phase.empty() && s["phase"] != phase) continue;
    if (!state.empty() && s["state"] != state) continue;
    if (!cluster.empty() && s["cluster"] != cluster) continue;
    out.push_back(std::move(s));
  }
  return HttpResponse::Json(200, {{"migrations", out}});
}

// The members an acting request's body may carry, each a boolean. Anything else is refused
// before anything is done: a mistyped flag must not run the action without it.
using BooleanMembers = std::vector<std::string>;

std::optional<HttpResponse> RefuseUnknownMembers(const nlohmann::json& body,
                                                 const BooleanMembers& members) {
  for (const auto& [k, v] : body.items()) {
    if (std::find(members.begin(), members.end(), k) == members.end()) {
      std::string expected = members.empty() ? "no members" : "";
      for (const auto& m : members) expected += (expected.empty() ? "" : ", ") + m;
      return ErrorResponse(
          InvalidArgument(k + ": unknown field (this request takes " + expected + ")"), k);
    }
    if (!v.is_boolean()) return ErrorResponse(InvalidArgument(k + ": give true or false"), k);
  }
  return std::nullopt;
}

// The common shape of the acting routes: find in scope, check the body, judge the action, act,
// drive, 202.
using Act = std::function<Status(const VisibleMigration&, const nlohmann::json& body)>;
ApiHandler Acting(ServerContext& ctx, MigrationAction action, BooleanMembers members, Act act) {
  return [&ctx, action, members, act](const HttpRequest& req, const Caller& caller,
                                      RequestAudit& audit) {
    const std::string name = req.PathParam("name");
    audit.target = "migration/" + name;
    auto m = FindVisibleMigration(ctx, caller, name);
    if (!m.ok()) return ErrorResponse(m.status());
    auto body = JsonObjectBody(req);
    if (!body.ok()) return ErrorResponse(body.status());
    if (auto refused = RefuseUnknownMembers(*body, members)) return *refused;
    RETURN_ERROR_RESPONSE(ActionAllowed(action, m->record, m->control, ctx.config.Team(m->team)));
    if (action == MigrationAction::kCutover && ctx.cutover_gate) {
      RETURN_ERROR_RESPONSE(ctx.cutover_gate(name, m->team, caller));
    }
    RETURN_ERROR_RESPONSE(act(*m, *body));
    RETURN_ERROR_RESPONSE(DriveIfServing(ctx, name));
    ctx.live.Changed();
    return ViewOrError(ctx, caller, name, 202);
  };
}

}  // namespace

void AddMigrationRoutes(HttpRouteTable& routes, ServerContext& ctx) {
  routes.Add("POST", "/v1/migrations",
             Authenticated(ctx, "migration.create",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             return Create(ctx, req, c, a);
                           }));
  routes.Add("GET", "/v1/migrations",
             Authenticated(ctx, "migration.list",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             a.audit = false;
                             return List(ctx, req, c);
                           }));
  routes.Add("GET", "/v1/migrations/{name}",
             Authenticated(ctx, "migration.read",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             a.target = "migration/" + req.PathParam("name");
                             return ViewOrError(ctx, c, req.PathParam("name"), 200);
                           }));
  routes.Add("POST", "/v1/migrations/{name}/start",
             Authenticated(ctx, "migration.start",
                           Acting(ctx, MigrationAction::kStart, {},
                                  [&ctx](const VisibleMigration& m, const nlohmann::json&) {
                                    return ctx.control
                                        .MergeControl(m.record.name, {{"started", true}},
                                                      ctx.clock.WallSeconds())
                                        .status();
                                  })));
  routes.Add("POST", "/v1/migrations/{name}/cutover",
             Authenticated(ctx, "migration.cutover",
                           Acting(ctx, MigrationAction::kCutover, {},
                                  [&ctx](const VisibleMigration& m, const nlohmann::json&) {
                                    MigrationControl control(ctx.migrations, ctx.clock);
                                    return control.RequestCutover(m.record.name);
                                  })));
  routes.Add("POST", "/v1/migrations/{name}/rollback",
             Authenticated(ctx, "migration.rollback",
                           Acting(ctx, MigrationAction::kRollback, {"keep_target_writes"},
                                  [&ctx](const VisibleMigration& m, const nlohmann::json& body) {
                                    MigrationControl control(ctx.migrations, ctx.clock);
                                    return control.RequestRollback(
                                        m.record.name, {.keep_target_writes = body.value(
                                                            "keep_target_writes", false)});
                                  })));
  routes.Add("POST", "/v1/migrations/{name}/cancel",
             Authenticated(ctx, "migration.cancel",
                           Acting(ctx, MigrationAction::kCancel, {},
                                  [&ctx](const VisibleMigration& m, const nlohmann::json&) {
                                    auto written = ctx.control.MergeControl(
                                        m.record.name,
                                        {{"cancelled", true}, {"started", true}, {"arm", nullptr}},
                                        ctx.clock.WallSeconds());
                                    if (!written.ok()) return written.status();
                                    MigrationControl control(ctx.migrations, ctx.clock);
                                    return control.RequestRollback(m.record.name, {});
                                  })));
}

}  // namespace pgshift::server
