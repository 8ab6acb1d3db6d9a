// The cutover policy against a real `pgshift server` and real clusters:
//   - the plan changes nothing (phase, events, arm, approval, update time as before);
//   - approval = required refuses a cutover (and an arm) without an approval by a second
//     identity, also when the approval is the caller's own, and accepts one after a second
//     identity of the team approved;
//   - every phase change reaches a team's webhook receiver, in order, without the canary
//     password, while another receiver that always fails never holds the migration back;
//   - an armed window in the future waits at the gate and says why; a window open now cuts
//     over once the gates are green; a window that ends without green gates leaves the
//     migration where it was, with the note among its events.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "http/http_server.h"
#include "server/rfc3339_time.h"
#include "server_test_env.h"

namespace pgshift::testing {
namespace {

using server::FormatRfc3339;

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A webhook receiver on a real socket: answers 200, or 500 to every attempt when `failing`.
class Receiver {
 public:
  explicit Receiver(bool failing) {
    HttpRouteTable routes;
    routes.Add("POST", "/hooks/{key}", [this, failing](const HttpRequest& r) {
      std::lock_guard<std::mutex> l(mu_);
      ++attempts_;
      raw_ += r.body + "\n";
      if (failing) return HttpResponse::Error(500, "receiver down");
      bodies_.push_back(nlohmann::json::parse(r.body, nullptr, false));
      return HttpResponse::Json(200, {{"ok", true}});
    });
    server_ = std::make_unique<HttpServer>(std::move(routes), HttpServerOptions{});
    EXPECT_TRUE(server_->Start("127.0.0.1", 0).ok());
  }
  ~Receiver() { server_->Stop(); }
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hooks/k";
  }
  int attempts() {
    std::lock_guard<std::mutex> l(mu_);
    return attempts_;
  }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> l(mu_);
    return bodies_;
  }
  std::string raw() {
    std::lock_guard<std::mutex> l(mu_);
    return raw_;
  }

 private:
  std::mutex mu_;
  int attempts_ = 0;
  std::vector<nlohmann::json> bodies_;
  std::string raw_;
  std::unique_ptr<HttpServer> server_;
};

void WriteConfig(const std::string& path, const std::string& text) {
  std::ofstream c(path, std::ios::trunc);
  c << text;
}

std::vector<std::string> NoteTexts(const nlohmann::json& view) {
  std::vector<std::string> out;
  for (const auto& e : view["events"]) {
    if (e.value("kind", "") == "note") out.push_back(e.value("reason", ""));
  }
  return out;
}

bool HasNoteContaining(const nlohmann::json& view, const std::string& text) {
  for (const auto& n : NoteTexts(view)) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

// Polls the migration until `done(view)` or the timeout; returns the last view.
template <typename Pred>
nlohmann::json WaitFor(ServerProcess& s, const std::string& name, const std::string& token,
                       Pred done, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json view;
  while (std::chrono::steady_clock::now() < deadline) {
    view = ServerProcess::Json(s.Get("/v1/migrations/" + name, token));
    if (done(view)) return view;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return view;
}

TEST(CutoverPolicy, PlanApprovalAndWebhooksOnARealMigration) {
  ServerTestEnv env;
  Receiver ok(/*failing=*/false), down(/*failing=*/true);
  WriteConfig(env.config_path(),
              "[server]\nplatform_team = platform\n\n[team payments]\napproval = required\n"
              "approval_valid_for = 1h\nwebhook = " +
                  ok.Url() + "\nwebhook = " + down.Url() + "\n\n[team search]\n");
  auto source = PgCluster::Primary();
  env.StartServer();
  ServerProcess& s = env.server();
  ASSERT_EQ(
      s.Post("/v1/clusters", env.payments_token, env.LocalCluster("orders", "payments", *source))
          .status,
      201);
  auto created =
      s.Post("/v1/migrations", env.payments_token,
             {{"name", "orders-1"}, {"cluster", "orders"}, {"options", {{"check_window_s", 1}}}});
  ASSERT_EQ(created.status, 201) << created.body;

  // The plan reads only.
  auto before = ServerProcess::Json(s.Get("/v1/migrations/orders-1", env.payments_token));
  auto plan_answer = s.Get("/v1/migrations/orders-1/plan", env.payments_token);
  ASSERT_EQ(plan_answer.status, 200) << plan_answer.body;
  auto plan = ServerProcess::Json(plan_answer);
  EXPECT_EQ(plan["steps"][0]["action"], "pause");
  EXPECT_EQ(plan["fence_layers"][0], "block_connections:pg_hba");
  EXPECT_EQ(plan["expected_pause_ms"]["basis"], "default");
  EXPECT_FALSE(plan["red_gates"].empty());
  auto after = ServerProcess::Json(s.Get("/v1/migrations/orders-1", env.payments_token));
  for (const char* key : {"phase", "state", "events", "arm", "approval", "updated_at"}) {
    EXPECT_EQ(before[key], after[key]) << key;
  }
  EXPECT_EQ(s.Get("/v1/migrations/orders-1/plan", env.search_token).status, 404);

  // No approval yet: neither an arm nor (later) a cutover.
  auto arm = s.Post("/v1/migrations/orders-1/arm", env.payments_token,
                    {{"window_end", FormatRfc3339(WallNow() + 600)}});
  EXPECT_EQ(arm.status, 409) << arm.body;
  EXPECT_NE(arm.body.find("needs an approval by a second identity"), std::string::npos);

  ASSERT_EQ(s.Post("/v1/migrations/orders-1/start", env.payments_token).status, 202);
  auto ready = env.WaitForPhase("orders-1", env.payments_token, "ready_for_cutover,failed");
  ASSERT_EQ(ready["phase"], "ready_for_cutover") << ready.dump(2);
  auto plan_at_gate =
      ServerProcess::Json(s.Get("/v1/migrations/orders-1/plan", env.payments_token));
  ASSERT_EQ(plan_at_gate["red_gates"].size(), 1u) << plan_at_gate.dump(2);
  EXPECT_EQ(plan_at_gate["red_gates"][0]["gate"], "approval");

  auto refused = s.Post("/v1/migrations/orders-1/cutover", env.payments_token);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(ServerProcess::Json(refused)["error"]["code"], "failed_precondition");
  ASSERT_EQ(s.Post("/v1/migrations/orders-1/approve", env.payments_token).status, 200);
  auto self = s.Post("/v1/migrations/orders-1/cutover", env.payments_token);
  EXPECT_EQ(self.status, 409) << self.body;  // approved by the same identity
  EXPECT_NE(self.body.find("needs an approval by a second identity"), std::string::npos);
  EXPECT_EQ(s.Post("/v1/migrations/orders-1/approve", env.search_token).status, 404);
  auto approved = s.Post("/v1/migrations/orders-1/approve", env.payments_token2);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(ServerProcess::Json(approved)["approved_by"], "token:pay-oncall");
  auto cut = s.Post("/v1/migrations/orders-1/cutover", env.payments_token);
  ASSERT_EQ(cut.status, 202) << cut.body;

  // The failing receiver never holds the migration: it completes while deliveries to it are
  // still being retried.
  auto done = env.WaitForPhase("orders-1", env.payments_token, "completed,rolled_back,failed");
  ASSERT_EQ(done["phase"], "completed") << done.dump(2);
  EXPECT_GE(down.attempts(), 1);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::vector<std::string> seen;
  while (std::chrono::steady_clock::now() < deadline) {
    seen.clear();
    for (const auto& b : ok.bodies()) seen.push_back(b.value("to", ""));
    if (!seen.empty() && seen.back() == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::vector<std::string> expected = {
      "replicating", "validating",    "ready_for_cutover", "pausing",   "fencing",  "draining",
      "promoting",   "slot_handover", "switching",         "verifying", "completed"};
  EXPECT_EQ(seen, expected);
  auto bodies = ok.bodies();
  ASSERT_FALSE(bodies.empty());
  EXPECT_EQ(bodies[0]["event"], "phase_changed");
  EXPECT_EQ(bodies[0]["migration"], "orders-1");
  EXPECT_EQ(bodies[0]["cluster"], "orders");
  EXPECT_EQ(bodies[0]["team"], "payments");
  EXPECT_EQ(bodies[0]["from"], "created");
  EXPECT_TRUE(server::ParseRfc3339(bodies[0]["at"].get<std::string>()).ok());
  const std::string canary = PgCluster::kPassword;
  EXPECT_EQ(ok.raw().find(canary), std::string::npos);
  EXPECT_EQ(down.raw().find(canary), std::string::npos);

  // The refused attempts are in the audit log; the failures are counted.
  auto audit = ServerProcess::Json(s.Get("/v1/audit?limit=200", env.platform_token));
  int refused_cutovers = 0;
  for (const auto& e : audit["entries"]) {
    if (e["action"] == "migration.cutover" && e["status"] == 409) ++refused_cutovers;
  }
  EXPECT_EQ(refused_cutovers, 2) << audit.dump(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the ticker copies counters
  std::string metrics = s.Get("/metrics", env.platform_token).body;
  EXPECT_EQ(metrics.find("pgshift_server_webhook_failures_total 0\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("pgshift_server_webhook_deliveries_total 0\n"), std::string::npos);
}

TEST(CutoverPolicy, ArmedWindowsWaitCutOverAndEnd) {
  ServerTestEnv env;
  auto catalog = PgCluster::Primary();
  auto index = PgCluster::Primary();
  env.StartServer();
  ServerProcess& s = env.server();
  ASSERT_EQ(
      s.Post("/v1/clusters", env.search_token, env.LocalCluster("catalog", "search", *catalog))
          .status,
      201);
  ASSERT_EQ(
      s.Post("/v1/clusters", env.search_token, env.LocalCluster("index", "search", *index)).status,
      201);
  for (auto [m, c] : {std::pair{"catalog-1", "catalog"}, {"index-1", "index"}}) {
    auto r = s.Post("/v1/migrations", env.search_token,
                    {{"name", m}, {"cluster", c}, {"options", {{"check_window_s", 1}}}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // A window that ends without green gates: index-1 is never started.
  auto short_window = s.Post("/v1/migrations/index-1/arm", env.search_token,
                             {{"window_end", FormatRfc3339(WallNow() + 3)}});
  ASSERT_EQ(short_window.status, 200) << short_window.body;
  auto bad = s.Post("/v1/migrations/index-1/arm", env.search_token,
                    {{"not_before", "2026-11-30 02:00"}, {"window_end", "later"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ServerProcess::Json(bad)["error"]["field"], "not_before");

  ASSERT_EQ(s.Post("/v1/migrations/catalog-1/start", env.search_token).status, 202);
  auto ready = env.WaitForPhase("catalog-1", env.search_token, "ready_for_cutover,failed");
  ASSERT_EQ(ready["phase"], "ready_for_cutover") << ready.dump(2);

  auto ended = WaitFor(s, "index-1", env.search_token,
                       [](const nlohmann::json& v) { return v["arm"].is_null(); });
  EXPECT_TRUE(ended["arm"].is_null()) << ended.dump(2);
  EXPECT_EQ(ended["phase"], "created");
  EXPECT_TRUE(HasNoteContaining(ended, "window ended without green gates: phase, checks"))
      << ended["events"].dump(2);

  // A window in the future: waits at the gate, green as it is, and says why.
  auto later = s.Post("/v1/migrations/catalog-1/arm", env.search_token,
                      {{"not_before", FormatRfc3339(WallNow() + 3600)},
                       {"window_end", FormatRfc3339(WallNow() + 7200)}});
  ASSERT_EQ(later.status, 200) << later.body;
  auto waiting = WaitFor(s, "catalog-1", env.search_token, [](const nlohmann::json& v) {
    return v["arm"].is_object() &&
           v["arm"].value("waiting_for", "").find("opens at") != std::string::npos;
  });
  EXPECT_NE(waiting["arm"].value("waiting_for", "").find("the window opens at"), std::string::npos)
      << waiting.dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto still = ServerProcess::Json(s.Get("/v1/migrations/catalog-1", env.search_token));
  EXPECT_EQ(still["phase"], "ready_for_cutover");
  EXPECT_TRUE(still["arm"].is_object());
  EXPECT_GT(still["series"]["lag_bytes"].size(), 0u) << still["series"].dump();

  // A window open now: the ticker cuts over (gates green, lag read at that moment).
  auto now = s.Post("/v1/migrations/catalog-1/arm", env.search_token,
                    {{"window_end", FormatRfc3339(WallNow() + 600)}});
  ASSERT_EQ(now.status, 200) << now.body;
  auto done = env.WaitForPhase("catalog-1", env.search_token, "completed,rolled_back,failed");
  EXPECT_EQ(done["phase"], "completed") << done.dump(2);
  EXPECT_TRUE(done["arm"].is_null());
  EXPECT_TRUE(HasNoteContaining(done, "armed cutover requested")) << done["events"].dump(2);
}

}  // namespace
}  // namespace pgshift::testing
