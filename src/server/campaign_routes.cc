// Campaign routes: POST/GET /v1/campaigns, GET /v1/campaigns/{name},
// POST /v1/campaigns/{name}/pause|resume|cancel. A team creates campaigns of its own clusters
// and sees and acts on its own campaigns (another team's is 404, as for clusters); the
// platform team on every one. Every request naming a campaign is audited. pause, resume and
// cancel take an optional body {"reason": "..."}, kept with the caller's identity in the
// campaign's history; resume also continues a halted campaign (the operator looked at what
// failed), acknowledging the failures it halted on.
#include "scheduler/campaign.h"
#include "scheduler/campaign_plan.h"
#include "scheduler/campaign_runner.h"
#include "server/api_error.h"
#include "server/api_handler.h"
#include "server/api_routes.h"
#include "server/authorization.h"
#include "server/campaign_migrations.h"

namespace pgshift::server {
namespace {

using scheduler::Campaign;

Result<std::vector<scheduler::MemberStatus>> MembersOf(ServerContext& ctx, const Campaign& c) {
  ServerCampaignMigrations apply(ctx);  // not used to act: Members only reads
  scheduler::CampaignRunner runner(ctx.control, ctx.migrations, apply, ctx.clock);
  return runner.Members(c);
}

// The campaign's JSON: definition, state, members and progress.
Result<nlohmann::json> CampaignJson(ServerContext& ctx, const CampaignRecord& record) {
  ASSIGN_OR_RETURN(Campaign c, Campaign::FromRecord(record));
  ASSIGN_OR_RETURN(auto members, MembersOf(ctx, c));
  nlohmann::json doc = c.ToDocument();
  nlohmann::json out = {{"name", c.name},
                        {"team", c.team},
                        {"state", doc["state"]},
                        {"halt_reason", c.halt_reason.empty() ? nlohmann::json(nullptr)
                                                              : nlohmann::json(c.halt_reason)},
                        {"clusters", c.clusters},
                        {"selector", c.selector},
                        {"waves", doc["waves"]},
                        {"soak_s", c.soak_s},
                        {"halt", doc["halt"]},
                        {"options", c.migration_options},
                        {"created_at", record.created_at},
                        {"updated_at", record.updated_at},
                        {"created_by", c.created_by},
                        {"acknowledged_failures", c.acknowledged_failures},
                        {"history", c.history}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : members) {
    nlohmann::json j = {
        {"cluster", m.cluster},
        {"migration", m.exists ? nlohmann::json(m.migration) : nullptr},
        {"phase", m.exists ? nlohmann::json(PhaseName(m.phase)) : nullptr},
        {"waiting", m.waiting.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.waiting)}};
    if (!m.create_error.empty()) j["refused"] = m.create_error;
    list.push_back(std::move(j));
  }
  out["members"] = list;
  out["progress"] = scheduler::CampaignProgressJson(c, members, ctx.clock.WallSeconds());
  return out;
}

Result<CampaignRecord> FindVisibleCampaign(ServerContext& ctx, const Caller& caller,
                                           const std::string& name) {
  auto r = ctx.control.GetCampaign(name);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) return ResourceNotFound("campaign", name);
    return r.status();
  }
  RETURN_IF_ERROR(AuthorizeResource(caller, "campaign", name, r->team));
  return r;
}

HttpResponse Create(ServerContext& ctx, const HttpRequest& req, const Caller& caller,
                    RequestAudit& audit) {
  auto body = JsonObjectBody(req);
  if (!body.ok()) return ErrorResponse(body.status());
  if (body->contains("name") && (*body)["name"].is_string()) {
    audit.target = "campaign/" + (*body)["name"].get<std::string>();
  }
  scheduler::CampaignRequestError bad;
  auto parsed = scheduler::ParseCampaignRequest(*body, &bad);
  if (!parsed.ok()) return ErrorResponse(bad.status, bad.field);
  Campaign c = parsed->campaign;
  c.created_by = caller.identity;
  // The team: as given, else the caller's own; the platform names it or lists clusters of one.
  if (c.team.empty() && !caller.platform) c.team = caller.team;
  if (c.team.empty() && !c.clusters.empty()) {
    auto first = ctx.control.GetCluster(c.clusters[0]);
    if (first.ok()) c.team = first->team;
  }
  if (c.team.empty()) {
    return ErrorResponse(InvalidArgument("team: name the team whose clusters this campaign "
                                         "migrates"),
                         "team");
  }
  Status act = AuthorizeActFor(caller, c.team);
  if (!act.ok()) return ErrorResponse(act, "team");
  if (parsed->selector) {
    auto clusters = ctx.control.ListClusters(c.team);
    if (!clusters.ok()) return ErrorResponse(clusters.status());
    for (const auto& cl : *clusters) {
      if (scheduler::SelectorMatches(*parsed->selector, cl.labels)) c.clusters.push_back(cl.name);
    }
    if (c.clusters.empty()) {
      return ErrorResponse(
          InvalidArgument("selector: no cluster of team " + c.team + " has these labels"),
          "selector");
    }
  } else {
    for (const std::string& name : c.clusters) {
      auto cl = ctx.control.GetCluster(name);
      // Another team's cluster reads as missing, as everywhere.
      if (!cl.ok() || cl->team != c.team) {
        return ErrorResponse(
            InvalidArgument("clusters: no cluster named '" + name + "' in team " + c.team),
            "clusters");
      }
    }
  }
  const double now = ctx.clock.WallSeconds();
  c.created_at = now;
  Status created = ctx.control.CreateCampaign({c.name, c.team, c.ToDocument(), now, now}, now);
  if (!created.ok()) {
    return ErrorResponse(created, created.code() == Code::kAlreadyExists ? "name" : "");
  }
  auto stored = ctx.control.GetCampaign(c.name);
  if (!stored.ok()) return ErrorResponse(stored.status());
  auto j = CampaignJson(ctx, *stored);
  if (!j.ok()) return ErrorResponse(j.status());
  ctx.live.Changed();
  return HttpResponse::Json(201, *j);
}

HttpResponse List(ServerContext& ctx, const HttpRequest& req, const Caller& caller) {
  nlohmann::json out = nlohmann::json::array();
  auto scope = ListScope(caller, req.query.count("team") ? req.query.at("team") : "");
  if (scope) {
    auto all = ctx.control.ListCampaigns(*scope);
    if (!all.ok()) return ErrorResponse(all.status());
    for (const CampaignRecord& r : *all) {
      auto c = Campaign::FromRecord(r);
      if (!c.ok()) continue;
      auto members = MembersOf(ctx, *c);
      if (!members.ok()) return ErrorResponse(members.status());
      nlohmann::json p = scheduler::CampaignProgressJson(*c, *members, ctx.clock.WallSeconds());
      out.push_back({{"name", c->name},
                     {"team", c->team},
                     {"state", scheduler::CampaignStateName(c->state)},
                     {"halt_reason", c->halt_reason.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(c->halt_reason)},
                     {"clusters", c->clusters.size()},
                     {"wave", p["wave"]},
                     {"waves", p["waves"]},
                     {"by_state", p["by_state"]},
                     {"eta_s", p["eta_s"]}});
    }
  }
  return HttpResponse::Json(200, {{"campaigns", out}});
}

ApiHandler Command(ServerContext& ctx, scheduler::CampaignCommand command) {
  return [&ctx, command](const HttpRequest& req, const Caller& caller, RequestAudit& audit) {
    const std::string name = req.PathParam("name");
    audit.target = "campaign/" + name;
    auto r = FindVisibleCampaign(ctx, caller, name);
    if (!r.ok()) return ErrorResponse(r.status());
    auto c = Campaign::FromRecord(*r);
    if (!c.ok()) return ErrorResponse(c.status());
    auto body = JsonObjectBody(req);
    if (!body.ok()) return ErrorResponse(body.status());
    scheduler::CommandRequest request;
    request.by = caller.identity;
    if (body->contains("reason") && (*body)["reason"].is_string()) {
      request.why = (*body)["reason"].get<std::string>();
    }
    request.now = ctx.clock.WallSeconds();
    if (command == scheduler::CampaignCommand::kResume &&
        c->state == scheduler::CampaignState::kHalted) {
      auto members = MembersOf(ctx, *c);
      if (!members.ok()) return ErrorResponse(members.status());
      for (const auto& m : *members) {
        if (m.Failed()) request.failed_clusters.push_back(m.cluster);
      }
    }
    auto patch = scheduler::CommandPatch(*c, command, request);
    if (!patch.ok()) return ErrorResponse(patch.status());
    auto merged = ctx.control.MergeCampaign(name, *patch, ctx.clock.WallSeconds());
    if (!merged.ok()) return ErrorResponse(merged.status());
    auto j = CampaignJson(ctx, *merged);
    if (!j.ok()) return ErrorResponse(j.status());
    ctx.live.Changed();
    return HttpResponse::Json(200, *j);
  };
}

}  // namespace

void AddCampaignRoutes(HttpRouteTable& routes, ServerContext& ctx) {
  routes.Add("POST", "/v1/campaigns",
             Authenticated(ctx, "campaign.create",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             return Create(ctx, req, c, a);
                           }));
  routes.Add("GET", "/v1/campaigns",
             Authenticated(ctx, "campaign.list",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             a.audit = false;
                             return List(ctx, req, c);
                           }));
  routes.Add("GET", "/v1/campaigns/{name}",
             Authenticated(ctx, "campaign.read",
                           [&ctx](const HttpRequest& req, const Caller& c, RequestAudit& a) {
                             const std::string name = req.PathParam("name");
                             a.target = "campaign/" + name;
                             auto r = FindVisibleCampaign(ctx, c, name);
                             if (!r.ok()) return ErrorResponse(r.status());
                             auto j = CampaignJson(ctx, *r);
                             if (!j.ok()) return ErrorResponse(j.status());
                             return HttpResponse::Json(200, *j);
                           }));
  routes.Add(
      "POST", "/v1/campaigns/{name}/pause",
      Authenticated(ctx, "campaign.pause", Command(ctx, scheduler::CampaignCommand::kPause)));
  routes.Add(
      "POST", "/v1/campaigns/{name}/resume",
      Authenticated(ctx, "campaign.resume", Command(ctx, scheduler::CampaignCommand::kResume)));
  routes.Add(
      "POST", "/v1/campaigns/{name}/cancel",
      Authenticated(ctx, "campaign.cancel", Command(ctx, scheduler::CampaignCommand::kCancel)));
}

}  // namespace pgshift::server
