// The cutover plan, built from a migration's record. Each step's wording follows the step
// file that runs it (quiesce_step.cc, fence_step.cc, drain_step.cc, promote_step.cc,
// slot_handover_step.cc, switch_step.cc, verify_step.cc) and the fence sequence
// (platform/source_fence.cc: connection block, read-only, terminate).
#include "workflow/cutover_plan.h"

#include <algorithm>

#include "migration/migration_spec.h"
#include "workflow/router_spec.h"

namespace pgshift {
namespace {

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

std::string Address(const ConnInfo& c) {
  std::string host = c.Get("host").empty() ? "127.0.0.1" : c.Get("host");
  std::string port = c.Get("port").empty() ? "5432" : c.Get("port");
  return host + ":" + port;
}

std::string JoinWords(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The phase durations a cutover recorded, in ms, when both ends are known.
std::optional<int64_t> Between(const MigrationFacts& f, Phase from, Phase to) {
  auto a = f.phase_started.find(from);
  auto b = f.phase_started.find(to);
  if (a == f.phase_started.end() || b == f.phase_started.end() || b->second < a->second) {
    return std::nullopt;
  }
  return static_cast<int64_t>((b->second - a->second) * 1000.0 + 0.5);
}

struct CutoverTimings {
  std::optional<int64_t> pause, fence, promote, rest;
};

CutoverTimings TimingsOf(const MigrationFacts& f) {
  CutoverTimings t;
  t.pause = Between(f, Phase::kPausing, Phase::kFencing);
  if (f.fence && !f.fence->layer_ms.empty()) {
    int64_t sum = 0;
    for (const auto& [layer, ms] : f.fence->layer_ms) sum += ms;
    t.fence = sum;
  } else {
    t.fence = Between(f, Phase::kFencing, Phase::kDraining);
  }
  if (f.promote_ms) t.promote = *f.promote_ms;
  auto drain = Between(f, Phase::kDraining, Phase::kPromoting);
  auto after = Between(f, Phase::kSlotHandover, Phase::kVerifying);
  if (drain && after) t.rest = *drain + *after;
  return t;
}

int64_t Median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// This migration's own figure, else the earlier cutovers' median, else the default.
void Pick(std::optional<int64_t> own, const std::vector<std::optional<int64_t>>& earlier,
          int64_t fallback, int64_t& ms, std::string& basis) {
  if (own) {
    ms = *own;
    basis = "measured";
    return;
  }
  std::vector<int64_t> known;
  for (const auto& e : earlier) {
    if (e) known.push_back(*e);
  }
  if (!known.empty()) {
    ms = Median(known);
    basis = "earlier_cutovers";
    return;
  }
  ms = fallback;
  basis = "default";
}

ExpectedPause EstimatePause(const MigrationFacts& own,
                            const std::vector<MigrationFacts>& earlier_cutovers) {
  CutoverTimings mine = TimingsOf(own);
  std::vector<CutoverTimings> earlier;
  for (const auto& f : earlier_cutovers) earlier.push_back(TimingsOf(f));
  auto column = [&](std::optional<int64_t> CutoverTimings::*field) {
    std::vector<std::optional<int64_t>> out;
    for (const auto& t : earlier) out.push_back(t.*field);
    return out;
  };
  ExpectedPause p;
  Pick(mine.pause, column(&CutoverTimings::pause), DefaultCutoverTimings::kPauseMs, p.pause_ms,
       p.pause_basis);
  Pick(mine.fence, column(&CutoverTimings::fence), DefaultCutoverTimings::kFenceMs, p.fence_ms,
       p.fence_basis);
  Pick(mine.promote, column(&CutoverTimings::promote), DefaultCutoverTimings::kPromoteMs,
       p.promote_ms, p.promote_basis);
  Pick(mine.rest, column(&CutoverTimings::rest), DefaultCutoverTimings::kRestMs, p.rest_ms,
       p.rest_basis);
  p.total_ms = p.pause_ms + p.fence_ms + p.promote_ms + p.rest_ms;
  return p;
}

std::vector<PlannedSlot> SlotsFromRecord(const std::vector<RecordedSlot>& recorded) {
  std::vector<PlannedSlot> out;
  for (const auto& s : recorded) out.push_back({s.name, s.plugin, s.database, s.two_phase});
  return out;
}

// Logical slots the slot_health check saw on the source (evidence "slots": [{slot, type,
// plugin, database}]).
std::vector<PlannedSlot> SlotsFromChecks(const nlohmann::json& report) {
  std::vector<PlannedSlot> out;
  if (!report.is_object() || !report.contains("checks") || !report["checks"].is_array()) {
    return out;
  }
  for (const auto& c : report["checks"]) {
    if (c.value("name", std::string()) != "slot_health") continue;
    if (!c.contains("evidence") || !c["evidence"].contains("slots")) continue;
    for (const auto& s : c["evidence"]["slots"]) {
      if (!s.is_object() || s.value("type", std::string()) != "logical") continue;
      out.push_back({s.value("slot", std::string()), s.value("plugin", std::string()),
                     s.value("database", std::string()), false});
    }
  }
  return out;
}

std::vector<std::string> FenceLayers(const MigrationSpec& s) {
  std::vector<std::string> layers;
  if (s.platform == "local") {
    layers.push_back("block_connections:pg_hba");
  } else if (s.fence_command) {
    layers.push_back("block_connections:fence_command");
  }
  layers.push_back("read_only");
  layers.push_back("terminate_backends");
  return layers;
}

std::string FenceDetail(const MigrationSpec& s, bool has_slots) {
  std::string d;
  int i = 0;
  auto layer = [&](const std::string& text) {
    d += (d.empty() ? "" : "; ") + std::string("(") + std::to_string(++i) + ") " + text;
  };
  if (s.platform == "local") {
    layer("block_connections:pg_hba: pg_hba.conf in " +
          (s.source_data_dir.empty() ? std::string("the source's data directory")
                                     : s.source_data_dir) +
          " rejects every non-replication connection but pgshift's role, then a reload");
  } else if (s.fence_command) {
    layer(
        "block_connections:fence_command: the operator's fence_command runs (sh -c); "
        "rollback runs the unfence_command");
  }
  layer(
      "read_only: ALTER SYSTEM SET default_transaction_read_only = on and a reload, waited "
      "for until in force");
  layer(
      "terminate_backends: every client backend but pgshift's own and the idle ones the "
      "paused proxies hold; walsenders (replication, CDC) are kept");
  std::string out = "fence the source " + Address(s.source) + " in layers, all within " +
                    Ms(s.fence_deadline) + ": " + d;
  if (s.platform != "local" && !s.fence_command) {
    out +=
        ". No fence_command is configured: nothing blocks new connections, and the fence "
        "refuses while prepared transactions exist";
  }
  if (has_slots) {
    out += ". Then the CDC fence point is marked (a logical message consumers confirm past)";
  }
  return out;
}

std::string SlotList(const std::vector<PlannedSlot>& slots) {
  std::vector<std::string> parts;
  for (const auto& s : slots) {
    parts.push_back(s.name + " (plugin " + s.plugin + ", database " + s.database +
                    (s.two_phase ? ", two_phase" : "") + ")");
  }
  return JoinWords(parts);
}

}  // namespace

std::string ExpectedPause::Basis() const {
  if (pause_basis == fence_basis && fence_basis == promote_basis && promote_basis == rest_basis) {
    return pause_basis;
  }
  return "mixed";
}

nlohmann::json ExpectedPause::ToJson() const {
  return {{"pause", pause_ms},
          {"fence", fence_ms},
          {"promote", promote_ms},
          {"rest", rest_ms},
          {"total", total_ms},
          {"basis", Basis()},
          {"bases",
           {{"pause", pause_basis},
            {"fence", fence_basis},
            {"promote", promote_basis},
            {"rest", rest_basis}}}};
}

nlohmann::json CutoverPlan::ToJson() const {
  nlohmann::json j;
  j["migration"] = migration;
  j["phase"] = phase;
  j["steps"] = nlohmann::json::array();
  for (const auto& s : steps) j["steps"].push_back(s.ToJson());
  j["router"] = router_kind;
  j["proxy_cluster"] =
      proxy_cluster.empty() ? nlohmann::json(nullptr) : nlohmann::json(proxy_cluster);
  j["proxies"] = proxies;
  j["fence_layers"] = fence_layers;
  j["slots"] = nlohmann::json::array();
  for (const auto& s : slots) {
    j["slots"].push_back({{"name", s.name},
                          {"plugin", s.plugin},
                          {"database", s.database},
                          {"two_phase", s.two_phase}});
  }
  j["slots_basis"] = slots_basis;
  j["route_change"] = route_change;
  j["red_gates"] = nlohmann::json::array();
  for (const auto& g : red_gates) j["red_gates"].push_back(g.ToJson());
  j["expected_pause_ms"] = expected_pause.ToJson();
  return j;
}

Result<CutoverPlan> PlanCutover(const CutoverPlanInput& input) {
  const MigrationRecord& record = input.record;
  auto spec_or = MigrationSpec::FromJson(record.spec);
  if (!spec_or.ok()) {
    return InvalidArgument(record.name +
                           ": plan: the recorded spec: " + spec_or.status().message());
  }
  const MigrationSpec& s = *spec_or;
  auto facts_or = MigrationFacts::FromJson(record.data);
  if (!facts_or.ok()) {
    return InvalidArgument(record.name +
                           ": plan: the recorded data: " + facts_or.status().message());
  }
  const MigrationFacts& f = *facts_or;
  auto router_or = RouterSpec::FromJson(s.router);
  if (!router_or.ok()) {
    return InvalidArgument(record.name +
                           ": plan: the recorded router: " + router_or.status().message());
  }
  const RouterSpec& router = *router_or;

  CutoverPlan plan;
  plan.migration = record.name;
  plan.phase = std::string(PhaseName(record.phase));
  plan.fence_layers = FenceLayers(s);
  if (f.slots) {
    plan.slots = SlotsFromRecord(*f.slots);
    plan.slots_basis = "recorded_at_fence";
  } else if (f.checks) {
    plan.slots = SlotsFromChecks(*f.checks);
    plan.slots_basis = "seen_by_validation";
  } else {
    plan.slots_basis = "none_known";
  }
  plan.red_gates = RedCutoverGates(record.phase, s, f, input.latest_lag_bytes);
  plan.expected_pause = EstimatePause(f, input.earlier_cutovers);

  const std::string target = Address(s.target);
  std::string version_text;
  nlohmann::json version_json = nullptr;
  if (f.route_version) {
    version_text = "version " + std::to_string(*f.route_version) + " (recorded)";
    version_json = *f.route_version;
  } else if (input.latest_route_version) {
    version_text = "version " + std::to_string(*input.latest_route_version + 1) +
                   " (the next after " + std::to_string(*input.latest_route_version) +
                   ", drawn from the store when the pause starts)";
    version_json = *input.latest_route_version + 1;
  } else {
    version_text = "the next route version (drawn from the store when the pause starts)";
  }

  std::vector<PlanStep>& steps = plan.steps;
  auto add = [&steps](std::string action, std::string detail) {
    steps.push_back({static_cast<int>(steps.size()) + 1, std::move(action), std::move(detail)});
  };
  switch (router.kind) {
    case RouterSpec::Kind::kProxy: {
      plan.router_kind = "proxy";
      plan.proxy_cluster = router.cluster;
      for (const auto& p : router.proxies) plan.proxies.push_back(p.admin);
      add("pause",
          "open the target connections the held window uses (verification snapshots, one per "
          "slot database) and let the proxies prepare connections to " +
              target +
              "; refuse, before anything is held, if prepared transactions exist with "
              "logical slots; then pause cluster " +
              router.cluster + " on " + std::to_string(router.proxies.size()) + " prox" +
              (router.proxies.size() == 1 ? "y" : "ies") + " (" + JoinWords(plan.proxies) +
              "): each session held at its next transaction boundary, every proxy must "
              "acknowledge within " +
              Ms(s.pause_deadline) + ", pause lease " + Ms(s.pause_lease) +
              " renewed while the cutover runs; if one does not, all resume and the cutover "
              "rolls back with traffic on the source");
      plan.route_change = {{"router", "proxy"},
                           {"cluster", router.cluster},
                           {"proxies", plan.proxies},
                           {"to", target},
                           {"version", version_json}};
      break;
    }
    case RouterSpec::Kind::kFile:
      plan.router_kind = "file";
      add("pause",
          "no proxy: mark the route file " + router.path +
              " paused (clients that read it before connecting wait); sessions already open "
              "are not held, and the fence below ends those still on the source");
      plan.route_change = {
          {"router", "file"}, {"path", router.path}, {"to", target}, {"version", version_json}};
      break;
    case RouterSpec::Kind::kNone:
      plan.router_kind = "none";
      add("pause",
          "no router: nothing holds sessions; the fence below ends the sessions on the source "
          "and the operator repoints clients to " +
              target + " after the cutover");
      break;
  }
  add("fence", FenceDetail(s, !plan.slots.empty()));
  add("final_lsn",
      "once every layer holds: list the logical slots on the source and read its final LSN "
      "(pg_current_wal_lsn()), recorded with the slots and the fence's timings");
  add("drain", "wait until the target " + target + " has replayed the final LSN (at most " +
                   Ms(s.drain_timeout) +
                   "), then take the verification snapshots on it; record the promotion's "
                   "intent (promoting)");
  std::string promote = "promote the target " + target +
                        " and poll until it has left recovery (at most " + Ms(s.promote_timeout) +
                        ")";
  if (router.kind == RouterSpec::Kind::kProxy) {
    promote += "; meanwhile the proxies start switching to it in the background, " + version_text +
               ", with every session still held";
  }
  add("promote", promote);
  if (plan.slots.empty()) {
    add("recreate_slots",
        plan.slots_basis == "none_known"
            ? "recreate on the target every logical slot the fence lists (none known yet)"
            : "no logical slot to recreate on the target (the slots are listed again at the "
              "fence)");
  } else {
    add("recreate_slots", "before any write reaches it, recreate on the target " +
                              std::to_string(plan.slots.size()) +
                              " logical slot(s): " + SlotList(plan.slots) +
                              (plan.slots_basis == "seen_by_validation"
                                   ? " (as validation saw them; listed again at the fence)"
                                   : ""));
  }
  switch (router.kind) {
    case RouterSpec::Kind::kProxy:
      add("switch", "route cluster " + router.cluster + " on " + JoinWords(plan.proxies) + " to " +
                        target + ", " + version_text +
                        " (a proxy the early switch already moved is left as it is)");
      add("resume", "resume the held sessions on every proxy; they continue on " + target);
      break;
    case RouterSpec::Kind::kFile:
      add("switch",
          "write " + target + " into the route file " + router.path + ", " + version_text);
      add("resume", "clear the route file's pause mark; clients connect to " + target);
      break;
    case RouterSpec::Kind::kNone:
      add("switch", "nothing to switch: repoint the clients to " + target);
      break;
  }
  add("verify",
      "a write on the new primary; per-table checksums of the fenced source against the "
      "snapshots; commit rates and latency against the source's baseline; wait (at most " +
          Ms(s.cdc_catch_up_timeout) +
          ") for every CDC consumer to confirm the fence point, then drop the old source's "
          "slots; completed");
  return plan;
}

}  // namespace pgshift
