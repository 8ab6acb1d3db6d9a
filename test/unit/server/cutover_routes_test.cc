// The cutover policy's routes and arming ticker over a MemoryStore, through the API's route
// table (no socket, no database): the plan reads and changes nothing; arm requests are
// validated with the field named; approval required refuses the cutover and the arm without an
// approval by a second identity and accepts after one; the ticker waits before the window and
// while gates are red (saying why), cuts over once green inside the window after a fresh lag
// reading, and gives a window up with a note when it ends with red gates; another team's
// migration is 404 on every route.
#include "server/cutover_routes.h"

#include <gtest/gtest.h>

#include <functional>

#include "migration/migration_facts.h"
#include "server/api_routes.h"
#include "server/api_token.h"
#include "server/cutover_policy.h"
#include "server/rfc3339_time.h"
#include "store/memory_store.h"

namespace pgshift::server {
namespace {

// Tokens of the API's form: "pgs_" + 43 base64url characters.
std::string Token(char c) { return "pgs_" + std::string(43, c); }
const std::string kAlice = Token('a'), kBob = Token('b'), kEve = Token('e'), kOps = Token('o');

ServerConfig Config() {
  ServerConfig c;
  c.platform_team = "platform";
  TeamConfig payments;
  payments.name = "payments";
  payments.approval_required = true;
  payments.approval_valid_for_s = 600;
  c.teams["payments"] = payments;
  return c;
}

nlohmann::json PassingChecks() {
  return {{"checks", {{{"name", "replication_lag"}, {"verdict", "pass"}}}},
          {"summary", {{"verdict", "pass"}}}};
}

class CutoverRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Advance(std::chrono::seconds(1796000000));
    for (auto [token, team, label, platform] : {std::tuple{kAlice, "payments", "alice", false},
                                                {kBob, "payments", "bob", false},
                                                {kEve, "search", "eve", false},
                                                {kOps, "platform", "ops", true}}) {
      ASSERT_TRUE(store_.AddToken({Sha256Hex(token), team, platform, label, 0}, 0).ok());
    }
    MigrationRecord r;
    r.name = "orders-1";
    r.spec = {{"name", "orders-1"},
              {"source", "host=127.0.0.1 port=5432 user=postgres"},
              {"target", "host=127.0.0.1 port=5544 user=postgres"},
              {"platform", "local"},
              {"source_data_dir", "/srv/pg/orders"},
              {"router", {{"kind", "none"}}}};
    ASSERT_TRUE(store_.Create(r, Now()).ok());
    ASSERT_TRUE(
        store_.MergeControl("orders-1", {{"team", "payments"}, {"cluster", "orders"}}, Now()).ok());
    routes_ = BuildApiRoutes(ctx_);
  }
  double Now() const { return clock_.WallSeconds(); }
  HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                    const nlohmann::json& body = nlohmann::json::object()) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.headers["authorization"] = "Bearer " + token;
    req.body = body.dump();
    return routes_.Dispatch(req);
  }
  static nlohmann::json Json(const HttpResponse& r) { return nlohmann::json::parse(r.body); }
  // Moves the migration to the gate with its checks recorded, as validation leaves it.
  void ReadyForCutover() {
    store_.SetRawPhaseForTest("orders-1", static_cast<int>(Phase::kReadyForCutover));
    MigrationFacts f;
    f.checks = PassingChecks();
    auto lease = store_.AcquireRunner("orders-1", "test", std::chrono::seconds(10), Now(), "");
    ASSERT_TRUE(lease.ok() && lease->acquired);
    ASSERT_TRUE(
        store_.MergeData("orders-1", lease->lease, Phase::kReadyForCutover, f.ToJson(), Now())
            .ok());
    ASSERT_TRUE(store_.ReleaseRunner("orders-1", lease->lease).ok());
  }
  std::vector<std::string> Notes() {
    std::vector<std::string> out;
    auto notes = store_.Notes("orders-1");
    for (const auto& n : *notes) out.push_back(n.text);
    return out;
  }
  nlohmann::json Arm() { return (*store_.GetControl("orders-1")).value("arm", nlohmann::json()); }

  FakeClock clock_;
  MemoryStore store_;
  ServerContext ctx_{Config(), store_, store_, clock_};
  uint64_t lag_now_ = 0;
  int lag_reads_ = 0;
  std::function<void()> while_lag_is_read_;  // what happens meanwhile (a disarm)
  CutoverPolicy policy_{ctx_, {.read_lag = [this](const MigrationSpec&) -> Result<LagReading> {
                          ++lag_reads_;
                          if (while_lag_is_read_) while_lag_is_read_();
                          return LagReading{lag_now_, 0};
                        }}};
  HttpRouteTable routes_;
};

TEST_F(CutoverRoutesTest, PlanChangesNothingAndShowsTheRedGates) {
  auto before = *store_.Get("orders-1");
  auto control_before = *store_.GetControl("orders-1");
  HttpResponse r = Call("GET", "/v1/migrations/orders-1/plan", kAlice);
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json plan = Json(r);
  EXPECT_EQ(plan["steps"][0]["n"], 1);
  EXPECT_EQ(plan["steps"].back()["action"], "verify");
  EXPECT_EQ(plan["fence_layers"][0], "block_connections:pg_hba");
  EXPECT_EQ(plan["expected_pause_ms"]["basis"], "default");
  std::vector<std::string> gates;
  for (const auto& g : plan["red_gates"]) gates.push_back(g["gate"]);
  EXPECT_EQ(gates, (std::vector<std::string>{"phase", "checks", "approval"}));
  auto after = *store_.Get("orders-1");
  EXPECT_EQ(after.phase, before.phase);
  EXPECT_EQ(after.data, before.data);
  EXPECT_EQ(after.updated_at, before.updated_at);
  EXPECT_EQ(*store_.GetControl("orders-1"), control_before);
  EXPECT_TRUE(Notes().empty());
}

TEST_F(CutoverRoutesTest, AnotherTeamGets404OnEveryRoute) {
  for (auto [method, path] :
       {std::pair{"GET", "plan"}, {"POST", "arm"}, {"POST", "disarm"}, {"POST", "approve"}}) {
    HttpResponse r = Call(method, std::string("/v1/migrations/orders-1/") + path, kEve,
                          {{"window_end", FormatRfc3339(Now() + 60)}});
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
    EXPECT_EQ(Json(r)["error"]["code"], "not_found");
  }
  EXPECT_TRUE(Arm().is_null());
}

TEST_F(CutoverRoutesTest, ArmRequestErrorsNameTheField) {
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kBob).status, 200);
  HttpResponse r = Call("POST", "/v1/migrations/orders-1/arm", kAlice,
                        {{"not_before", "tonight"}, {"window_end", FormatRfc3339(Now() + 60)}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json(r)["error"]["code"], "invalid_argument");
  EXPECT_EQ(Json(r)["error"]["field"], "not_before");
  r = Call("POST", "/v1/migrations/orders-1/arm", kAlice,
           {{"window_end", FormatRfc3339(Now() - 1)}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json(r)["error"]["field"], "window_end");
  EXPECT_TRUE(Arm().is_null());  // a refused request changes nothing
}

TEST_F(CutoverRoutesTest, ApprovalRequiredNeedsASecondIdentity) {
  ReadyForCutover();
  nlohmann::json window = {{"window_end", FormatRfc3339(Now() + 600)}};
  HttpResponse r = Call("POST", "/v1/migrations/orders-1/cutover", kAlice);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(Json(r)["error"]["code"], "failed_precondition");
  EXPECT_NE(
      Json(r)["error"]["message"].get<std::string>().find("needs an approval by a second identity"),
      std::string::npos);
  EXPECT_EQ(Call("POST", "/v1/migrations/orders-1/arm", kAlice, window).status, 409);
  EXPECT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kEve).status, 404);

  r = Call("POST", "/v1/migrations/orders-1/approve", kAlice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["approved_by"], "token:alice");
  r = Call("POST", "/v1/migrations/orders-1/cutover", kAlice);  // approved by herself
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);

  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kOps).status, 200);  // platform
  r = Call("POST", "/v1/migrations/orders-1/cutover", kAlice);
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_TRUE(store_.Get("orders-1")->cutover_requested);
}

TEST_F(CutoverRoutesTest, ExpiredApprovalIsRefused) {
  ReadyForCutover();
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kBob).status, 200);
  clock_.Advance(std::chrono::seconds(601));
  HttpResponse r = Call("POST", "/v1/migrations/orders-1/cutover", kAlice);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;
}

TEST_F(CutoverRoutesTest, ArmedWindowInTheFutureWaitsAndSaysWhy) {
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kBob).status, 200);
  ReadyForCutover();
  HttpResponse r = Call(
      "POST", "/v1/migrations/orders-1/arm", kAlice,
      {{"not_before", FormatRfc3339(Now() + 3600)}, {"window_end", FormatRfc3339(Now() + 7200)}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["armed_by"], "token:alice");
  policy_.TickArmed();
  EXPECT_NE(Arm()["waiting_for"].get<std::string>().find("opens at"), std::string::npos) << Arm();
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);
  EXPECT_EQ(lag_reads_, 0);
  nlohmann::json view = Json(Call("GET", "/v1/migrations/orders-1", kAlice));
  EXPECT_EQ(view["arm"]["window_end"], FormatRfc3339(Now() + 7200));
  EXPECT_EQ(view["actions"]["disarm"], true);

  r = Call("POST", "/v1/migrations/orders-1/disarm", kAlice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json(r)["arm"].is_null());  // the migration's view
  EXPECT_EQ(Json(r)["name"], "orders-1");
  EXPECT_TRUE(Arm().is_null());
  EXPECT_EQ(Notes().size(), 3u);  // approved, armed, disarmed; nothing from the ticker
}

TEST_F(CutoverRoutesTest, ArmedWindowNowCutsOverOnceGatesAreGreenAndLagIsLowNow) {
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kBob).status, 200);
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/arm", kAlice,
                 {{"window_end", FormatRfc3339(Now() + 600)}})
                .status,
            200);
  policy_.TickArmed();  // created, nothing validated: waits
  EXPECT_NE(Arm()["waiting_for"].get<std::string>().find("phase"), std::string::npos) << Arm();
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);

  ReadyForCutover();
  lag_now_ = 64ull << 20;  // over the spec's 16 MiB, read at the moment of the decision
  policy_.TickArmed();
  EXPECT_EQ(lag_reads_, 1);
  EXPECT_NE(Arm()["waiting_for"].get<std::string>().find("replication_lag"), std::string::npos);
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);

  lag_now_ = 1024;
  clock_.Advance(std::chrono::seconds(5));
  policy_.TickArmed();
  EXPECT_TRUE(store_.Get("orders-1")->cutover_requested) << Arm() << Notes().back();
  EXPECT_TRUE(Arm().is_null());
  EXPECT_NE(Notes().back().find("armed cutover requested"), std::string::npos);
}

// The ticker and a disarm race for the arm; exactly one wins, and the disarm's answer tells
// the truth: a disarm that returned 200 is never followed by the arm's cutover, and one that
// came after the cutover was requested is a 409 saying so.
TEST_F(CutoverRoutesTest, ADisarmAndTheTickerNeverBothWin) {
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kBob).status, 200);
  ReadyForCutover();
  lag_now_ = 1024;
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/arm", kAlice,
                 {{"window_end", FormatRfc3339(Now() + 600)}})
                .status,
            200);
  // The disarm lands while the ticker reads the lag, after it judged the gates green.
  int disarm_status = 0;
  while_lag_is_read_ = [&] {
    disarm_status = Call("POST", "/v1/migrations/orders-1/disarm", kAlice).status;
  };
  policy_.TickArmed();
  EXPECT_EQ(disarm_status, 200);
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);
  EXPECT_TRUE(Arm().is_null());

  // Armed again; this time the ticker requests the cutover first.
  while_lag_is_read_ = nullptr;
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/arm", kAlice,
                 {{"window_end", FormatRfc3339(Now() + 600)}})
                .status,
            200);
  policy_.TickArmed();
  ASSERT_TRUE(store_.Get("orders-1")->cutover_requested);
  HttpResponse late = Call("POST", "/v1/migrations/orders-1/disarm", kAlice);
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_NE(late.body.find("requested already (roll back to undo it)"), std::string::npos)
      << late.body;
}

TEST_F(CutoverRoutesTest, AWindowThatEndsWithRedGatesLeavesTheMigrationWaitingWithANote) {
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kBob).status, 200);
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/arm", kAlice,
                 {{"window_end", FormatRfc3339(Now() + 60)}})
                .status,
            200);
  policy_.TickArmed();
  clock_.Advance(std::chrono::seconds(61));
  policy_.TickArmed();
  EXPECT_TRUE(Arm().is_null());
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);
  EXPECT_EQ(store_.Get("orders-1")->phase, Phase::kCreated);
  EXPECT_EQ(Notes().back(), "window ended without green gates: phase, checks");
  nlohmann::json view = Json(Call("GET", "/v1/migrations/orders-1", kAlice));
  EXPECT_EQ(view["events"].back()["kind"], "note");
  EXPECT_EQ(view["events"].back()["reason"], "window ended without green gates: phase, checks");
}

TEST_F(CutoverRoutesTest, AnArmedCutoverNeedsTheApprovalToHoldAtTheDecision) {
  ReadyForCutover();
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/approve", kBob).status, 200);
  ASSERT_EQ(Call("POST", "/v1/migrations/orders-1/arm", kAlice,
                 {{"not_before", FormatRfc3339(Now() + 900)},
                  {"window_end", FormatRfc3339(Now() + 1800)}})
                .status,
            200);
  clock_.Advance(std::chrono::seconds(901));  // the approval (600 s) expired meanwhile
  policy_.TickArmed();
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);
  EXPECT_NE(Arm()["waiting_for"].get<std::string>().find("approval"), std::string::npos);
}

TEST_F(CutoverRoutesTest, AMalformedArmRecordIsClearedWithANoteNotACrash) {
  ASSERT_TRUE(store_.MergeControl("orders-1", {{"arm", {{"window_end", 42}}}}, Now()).ok());
  policy_.TickArmed();
  EXPECT_TRUE(Arm().is_null());
  ASSERT_FALSE(Notes().empty());
  EXPECT_NE(Notes().back().find("arm cleared: its record could not be read"), std::string::npos);
}

}  // namespace
}  // namespace pgshift::server
