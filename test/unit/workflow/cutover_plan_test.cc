// The cutover plan from recorded migrations: the steps name the proxies, fence layers, slots
// and route change the cutover steps will use; red gates come from the phase, the recorded
// checks and the latest lag; the expected pause comes from this migration, earlier cutovers of
// the cluster or the documented defaults, and says which; no secret reaches the plan.
#include "workflow/cutover_plan.h"

#include <gtest/gtest.h>

namespace pgshift {
namespace {

nlohmann::json ProxySpec() {
  return {{"name", "orders-1"},
          {"source", "host=10.0.0.1 port=5432 user=postgres password=canary-secret"},
          {"target", "host=10.0.0.2 port=5544 user=postgres password=canary-secret"},
          {"platform", "local"},
          {"source_data_dir", "/srv/pg/orders"},
          {"pause_deadline_ms", 4000},
          {"pause_lease_ms", 20000},
          {"router",
           {{"kind", "proxy"},
            {"cluster", "orders"},
            {"proxies",
             {{{"admin", "127.0.0.1:6433"}, {"token_file", "/p/a.token"}},
              {{"admin", "127.0.0.1:6434"}, {"token_file", "/p/b.token"}}}}}}};
}

nlohmann::json PassingChecks() {
  return {{"checks",
           {{{"name", "replication_lag"}, {"verdict", "pass"}},
            {{"name", "slot_health"},
             {"verdict", "pass"},
             {"evidence",
              {{"slots",
                {{{"slot", "cdc_orders"},
                  {"type", "logical"},
                  {"plugin", "test_decoding"},
                  {"database", "shop"}},
                 {{"slot", "standby1"}, {"type", "physical"}}}}}}}}}};
}

MigrationRecord Record(Phase phase, nlohmann::json spec, nlohmann::json data) {
  MigrationRecord r;
  r.name = "orders-1";
  r.phase = phase;
  r.spec = std::move(spec);
  r.data = std::move(data);
  return r;
}

// Facts of a completed cutover with the given timings (ms).
MigrationFacts Cutover(int pause, int fence, int promote) {
  MigrationFacts f;
  double t = 1000;
  f.phase_started[Phase::kPausing] = t;
  f.phase_started[Phase::kFencing] = t += pause / 1000.0;
  f.phase_started[Phase::kDraining] = t += fence / 1000.0;
  f.phase_started[Phase::kPromoting] = t += 0.005;
  f.phase_started[Phase::kSlotHandover] = t += promote / 1000.0;
  f.phase_started[Phase::kSwitching] = t += 0.005;
  f.phase_started[Phase::kVerifying] = t += 0.005;
  f.promote_ms = promote;
  f.fence = FenceRecord{};
  f.fence->layers = {"block_connections:pg_hba", "read_only", "terminate_backends"};
  f.fence->layer_ms = {{"block_connections:pg_hba", fence - 10}, {"read_only", 10}};
  return f;
}

std::vector<std::string> Actions(const CutoverPlan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.steps) out.push_back(s.action);
  return out;
}

TEST(CutoverPlan, ProxyLocalStepsNameProxiesLayersSlotsAndRoute) {
  CutoverPlanInput in{Record(Phase::kReadyForCutover, ProxySpec(), {{"checks", PassingChecks()}})};
  in.latest_route_version = 6;
  auto plan = PlanCutover(in);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Actions(*plan),
            (std::vector<std::string>{"pause", "fence", "final_lsn", "drain", "promote",
                                      "recreate_slots", "switch", "resume", "verify"}));
  for (size_t i = 0; i < plan->steps.size(); ++i) EXPECT_EQ(plan->steps[i].n, int(i) + 1);
  EXPECT_EQ(plan->proxies, (std::vector<std::string>{"127.0.0.1:6433", "127.0.0.1:6434"}));
  const std::string& pause = plan->steps[0].detail;
  EXPECT_NE(pause.find("cluster orders"), std::string::npos) << pause;
  EXPECT_NE(pause.find("4000 ms"), std::string::npos) << pause;
  EXPECT_NE(pause.find("lease 20000 ms"), std::string::npos) << pause;
  EXPECT_EQ(plan->fence_layers, (std::vector<std::string>{"block_connections:pg_hba", "read_only",
                                                          "terminate_backends"}));
  EXPECT_NE(plan->steps[1].detail.find("/srv/pg/orders"), std::string::npos);
  ASSERT_EQ(plan->slots.size(), 1u);  // the physical slot is not recreated
  EXPECT_EQ(plan->slots[0].name, "cdc_orders");
  EXPECT_EQ(plan->slots[0].plugin, "test_decoding");
  EXPECT_EQ(plan->slots[0].database, "shop");
  EXPECT_EQ(plan->slots_basis, "seen_by_validation");
  EXPECT_NE(plan->steps[5].detail.find("cdc_orders (plugin test_decoding, database shop)"),
            std::string::npos);
  EXPECT_EQ(plan->route_change["cluster"], "orders");
  EXPECT_EQ(plan->route_change["to"], "10.0.0.2:5544");
  EXPECT_EQ(plan->route_change["version"], 7);
  EXPECT_NE(plan->steps[6].detail.find("version 7"), std::string::npos);
  EXPECT_TRUE(plan->red_gates.empty());
  std::string json = plan->ToJson().dump();
  EXPECT_EQ(json.find("canary-secret"), std::string::npos);
  EXPECT_EQ(json.find("token"), std::string::npos) << json;
}

TEST(CutoverPlan, RecordedSlotsAndRouteVersionWinOverGuesses) {
  MigrationFacts f;
  f.checks = PassingChecks();
  f.route_version = 12;
  f.slots = std::vector<RecordedSlot>{
      {.name = "s2", .plugin = "pgoutput", .database = "app", .two_phase = true}};
  CutoverPlanInput in{Record(Phase::kPromoting, ProxySpec(), f.ToJson())};
  in.latest_route_version = 40;
  auto plan = PlanCutover(in);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->slots.size(), 1u);
  EXPECT_EQ(plan->slots[0].name, "s2");
  EXPECT_TRUE(plan->slots[0].two_phase);
  EXPECT_EQ(plan->slots_basis, "recorded_at_fence");
  EXPECT_EQ(plan->route_change["version"], 12);
  ASSERT_FALSE(plan->red_gates.empty());
  EXPECT_EQ(plan->red_gates[0].gate, "phase");
}

TEST(CutoverPlan, ExternalPlatformFenceLayersFollowTheFenceCommand) {
  nlohmann::json spec = ProxySpec();
  spec["platform"] = "external";
  spec["fence_command"] = "iptables -A INPUT -p tcp --dport 5432 -j DROP # key=hush";
  auto with = PlanCutover({Record(Phase::kReadyForCutover, spec, {{"checks", PassingChecks()}})});
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->fence_layers, (std::vector<std::string>{"block_connections:fence_command",
                                                          "read_only", "terminate_backends"}));
  EXPECT_EQ(with->ToJson().dump().find("hush"), std::string::npos);  // the command is not shown
  spec.erase("fence_command");
  auto without = PlanCutover({Record(Phase::kReadyForCutover, spec, nlohmann::json::object())});
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->fence_layers, (std::vector<std::string>{"read_only", "terminate_backends"}));
  EXPECT_NE(without->steps[1].detail.find("No fence_command"), std::string::npos);
}

TEST(CutoverPlan, WithoutRouterNothingIsPausedOrSwitched) {
  nlohmann::json spec = ProxySpec();
  spec["router"] = {{"kind", "none"}};
  auto plan = PlanCutover({Record(Phase::kReadyForCutover, spec, {{"checks", PassingChecks()}})});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->router_kind, "none");
  EXPECT_TRUE(plan->proxies.empty());
  EXPECT_TRUE(plan->route_change.is_null());
  EXPECT_NE(plan->steps[0].detail.find("nothing holds sessions"), std::string::npos);
  EXPECT_EQ(Actions(*plan).back(), "verify");
}

TEST(CutoverPlan, RedGatesFromPhaseChecksAndLag) {
  nlohmann::json checks = PassingChecks();
  checks["checks"].push_back(
      {{"name", "extension_parity"}, {"verdict", "fail"}, {"advice", "install postgis 3.3"}});
  checks["checks"].push_back({{"name", "wal_rates"}, {"verdict", "warn"}});
  CutoverPlanInput in{Record(Phase::kValidating, ProxySpec(), {{"checks", checks}})};
  in.latest_lag_bytes = 64ull << 20;
  auto plan = PlanCutover(in);
  ASSERT_TRUE(plan.ok());
  std::vector<std::string> gates;
  for (const auto& g : plan->red_gates) gates.push_back(g.gate);
  EXPECT_EQ(gates,
            (std::vector<std::string>{"phase", "check:extension_parity", "replication_lag"}));
  EXPECT_EQ(plan->red_gates[1].reason, "install postgis 3.3");
  EXPECT_NE(plan->red_gates[2].reason.find("67108864"), std::string::npos);

  in.latest_lag_bytes = 1024;
  in.record = Record(Phase::kReadyForCutover, ProxySpec(), nlohmann::json::object());
  plan = PlanCutover(in);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->red_gates.size(), 1u);
  EXPECT_EQ(plan->red_gates[0].gate, "checks");  // nothing validated yet
}

TEST(CutoverPlan, ExpectedPauseSaysWhereEachFigureCameFrom) {
  CutoverPlanInput in{Record(Phase::kReadyForCutover, ProxySpec(), {{"checks", PassingChecks()}})};
  auto plan = PlanCutover(in);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->expected_pause.Basis(), "default");
  EXPECT_EQ(plan->expected_pause.promote_ms, DefaultCutoverTimings::kPromoteMs);
  EXPECT_EQ(plan->expected_pause.total_ms,
            DefaultCutoverTimings::kPauseMs + DefaultCutoverTimings::kFenceMs +
                DefaultCutoverTimings::kPromoteMs + DefaultCutoverTimings::kRestMs);

  in.earlier_cutovers = {Cutover(20, 40, 100), Cutover(30, 50, 300), Cutover(10, 30, 200)};
  plan = PlanCutover(in);
  ASSERT_TRUE(plan.ok());
  const ExpectedPause& p = plan->expected_pause;
  EXPECT_EQ(p.Basis(), "earlier_cutovers");
  EXPECT_EQ(p.pause_ms, 20);
  EXPECT_EQ(p.fence_ms, 40);
  EXPECT_EQ(p.promote_ms, 200);
  EXPECT_EQ(p.rest_ms, 15);
  EXPECT_EQ(p.total_ms, 20 + 40 + 200 + 15);
  nlohmann::json j = plan->ToJson()["expected_pause_ms"];
  EXPECT_EQ(j["total"], 275);
  EXPECT_EQ(j["basis"], "earlier_cutovers");

  // This migration's own promotion (e.g. a rehearsal that recorded one) beats the cluster's.
  MigrationFacts own;
  own.checks = PassingChecks();
  own.promote_ms = 77;
  in.record.data = own.ToJson();
  plan = PlanCutover(in);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->expected_pause.promote_ms, 77);
  EXPECT_EQ(plan->expected_pause.promote_basis, "measured");
  EXPECT_EQ(plan->expected_pause.Basis(), "mixed");
}

TEST(CutoverPlan, UnreadableRecordIsAnErrorNamingIt) {
  auto plan = PlanCutover({Record(Phase::kReadyForCutover, ProxySpec(), {{"final_lsn", 42}})});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("recorded data"), std::string::npos);
}

}  // namespace
}  // namespace pgshift
