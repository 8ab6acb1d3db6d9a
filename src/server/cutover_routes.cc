// The cutover policy's routes: GET .../plan, POST .../arm, .../disarm, .../approve. Each finds
// the migration in the caller's scope first (another team's is 404, like a missing one), judges
// the action with ActionAllowed (409 otherwise), and answers with the API's error body naming
// the field at fault. The plan reads only; the others write the migration's control object and
// a note among its events, and nothing else.
#include "server/cutover_routes.h"

#include "server/api_error.h"
#include "server/api_handler.h"
#include "server/approvals.h"
#include "server/cutover_arming.h"
#include "server/cutover_policy.h"
#include "server/migration_view.h"
#include "server/resource_access.h"
#include "server/rfc3339_time.h"
#include "workflow/cutover_plan.h"

namespace pgshift::server {
namespace {

// Earlier cutovers of `cluster` (migrations the server made for it that got past the switch).
std::vector<MigrationFacts> EarlierCutovers(ServerContext& ctx, const std::string& cluster,
                                            const std::string& except) {
  std::vector<MigrationFacts> out;
  if (cluster.empty()) return out;
  auto all = ctx.migrations.List();
  auto controls = ctx.control.AllControls();
  if (!all.ok() || !controls.ok()) return out;
  for (const MigrationRecord& r : *all) {
    if (r.name == except) continue;
    auto c = controls->find(r.name);
    if (c == controls->end() || c->second.value("cluster", "") != cluster) continue;
    auto facts = MigrationFacts::FromJson(r.data);
    if (facts.ok() && facts->switched_at) out.push_back(std::move(facts).value());
  }
  return out;
}

HttpResponse Plan(ServerContext& ctx, const VisibleMigration& m) {
  CutoverPlanInput in{m.record};
  in.earlier_cutovers = EarlierCutovers(ctx, m.cluster, m.record.name);
  in.latest_lag_bytes = ctx.live.series().LatestLag(m.record.name, ctx.clock.WallSeconds(), 30);
  auto plan = PlanCutover(in);
  if (!plan.ok()) return ErrorResponse(Internal(plan.status().message()));
  Status approved =
      CheckApproval(ApprovalPolicyOf(ctx.config.Team(m.team)), RecordedApproval(m.control),
                    /*requester=*/"", ctx.clock.WallSeconds());
  if (!approved.ok()) plan->red_gates.push_back({"approval", approved.message()});
  return HttpResponse::Json(200, plan->ToJson());
}

// A disarm that found no arm in force when it wrote (the ticker took it a moment before):
// the same 409 as when none was armed at the first look, judged on the migration as it is now.
HttpResponse NotArmed(ServerContext& ctx, const VisibleMigration& m) {
  auto record = ctx.migrations.Get(m.record.name);
  if (!record.ok()) return ErrorResponse(record.status());
  Status refused = ActionAllowed(MigrationAction::kDisarm, *record, nlohmann::json::object(),
                                 ctx.config.Team(m.team));
  return ErrorResponse(refused.ok() ? Internal("disarm: the arm vanished") : refused);
}

}  // namespace

void AddCutoverRoutes(HttpRouteTable& routes, ServerContext& ctx) {
  // Finds the migration in scope and runs `act`; `action` judged first when given.
  using Act = std::function<HttpResponse(const HttpRequest&, const Caller&, VisibleMigration&)>;
  auto scoped = [&ctx](std::optional<MigrationAction> action, Act act) -> ApiHandler {
    return [&ctx, action, act](const HttpRequest& req, const Caller& caller, RequestAudit& audit) {
      const std::string name = req.PathParam("name");
      audit.target = "migration/" + name;
      auto m = FindVisibleMigration(ctx, caller, name);
      if (!m.ok()) return ErrorResponse(m.status());
      if (action) {
        Status allowed = ActionAllowed(*action, m->record, m->control, ctx.config.Team(m->team));
        if (!allowed.ok()) return ErrorResponse(allowed);
      }
      return act(req, caller, *m);
    };
  };

  routes.Add(
      "GET", "/v1/migrations/{name}/plan",
      Authenticated(ctx, "migration.plan",
                    scoped(std::nullopt, [&ctx](const HttpRequest&, const Caller&,
                                                VisibleMigration& m) { return Plan(ctx, m); })));

  routes.Add("POST", "/v1/migrations/{name}/arm",
             Authenticated(
                 ctx, "migration.arm",
                 scoped(MigrationAction::kArm, [&ctx](const HttpRequest& req, const Caller& caller,
                                                      VisibleMigration& m) {
                   auto body = JsonObjectBody(req);
                   if (!body.ok()) return ErrorResponse(body.status());
                   const double now = ctx.clock.WallSeconds();
                   ArmRequestError error;
                   auto arm = ParseArmRequest(*body, caller.identity, now, &error);
                   if (!arm) return ErrorResponse(error.status, error.field);
                   Status approved =
                       CheckCutoverAllowed(ctx, m.record.name, m.team, caller.identity);
                   if (!approved.ok()) return ErrorResponse(approved);
                   nlohmann::json arm_json = arm->ToJson();
                   arm_json["waiting_for"] = "judged by the arming ticker within a second";
                   // One write that replaces any earlier arm whole (a merge patch would keep
                   // its other keys).
                   auto merged = ctx.control.UpdateControl(
                       m.record.name,
                       [&](nlohmann::json& c) {
                         c["arm"] = arm_json;
                         return true;
                       },
                       now);
                   if (!merged.ok()) return ErrorResponse(merged.status());
                   (void)ctx.control.AppendNote(
                       m.record.name,
                       "cutover armed by " + caller.identity + " for the window " +
                           FormatRfc3339(arm->not_before) + " to " + FormatRfc3339(arm->window_end),
                       now);
                   ctx.live.Changed();
                   if (ctx.cutover_policy) ctx.cutover_policy->Wake();
                   return HttpResponse::Json(200, (**merged)["arm"]);
                 })));

  routes.Add(
      "POST", "/v1/migrations/{name}/disarm",
      Authenticated(ctx, "migration.disarm",
                    scoped(MigrationAction::kDisarm,
                           [&ctx](const HttpRequest&, const Caller& caller, VisibleMigration& m) {
                             const double now = ctx.clock.WallSeconds();
                             // Takes back only an arm still in force, in one conditional write: the
                             // ticker takes the arm the same way before it requests the cutover, so
                             // exactly one of the two wins.
                             auto taken = ctx.control.UpdateControl(
                                 m.record.name,
                                 [](nlohmann::json& c) {
                                   if (!c.contains("arm") || !c["arm"].is_object()) return false;
                                   c.erase("arm");
                                   return true;
                                 },
                                 now);
                             if (!taken.ok()) return ErrorResponse(taken.status());
                             if (!taken->has_value()) return NotArmed(ctx, m);
                             (void)ctx.control.AppendNote(
                                 m.record.name, "cutover disarmed by " + caller.identity, now);
                             ctx.live.Changed();
                             m.control = std::move(**taken);
                             auto view = MigrationViewJson(ctx, m);
                             if (!view.ok()) return ErrorResponse(view.status());
                             return HttpResponse::Json(200, *view);
                           })));

  routes.Add("POST", "/v1/migrations/{name}/approve",
             Authenticated(
                 ctx, "migration.approve",
                 scoped(MigrationAction::kApprove, [&ctx](const HttpRequest&, const Caller& caller,
                                                          VisibleMigration& m) {
                   const double now = ctx.clock.WallSeconds();
                   auto approval =
                       MakeApproval(ApprovalPolicyOf(ctx.config.Team(m.team)), caller.identity,
                                    caller.team, caller.platform, m.team, now);
                   if (!approval.ok()) return ErrorResponse(approval.status());
                   auto merged = ctx.control.MergeControl(m.record.name,
                                                          {{"approval", approval->ToJson()}}, now);
                   if (!merged.ok()) return ErrorResponse(merged.status());
                   (void)ctx.control.AppendNote(m.record.name,
                                                "cutover approved by " + caller.identity +
                                                    " until " + FormatRfc3339(approval->expires_at),
                                                now);
                   ctx.live.Changed();
                   return HttpResponse::Json(200, (*merged)["approval"]);
                 })));
}

}  // namespace pgshift::server
