// The cutover policy's observer: a driven migration's phase changes and failures become
// webhook bodies for its team's URLs (cluster and team from its control object), delivered to
// a real local receiver; a migration without a team (made outside the server) sends nothing.
#include "server/cutover_policy.h"

#include <gtest/gtest.h>

#include <mutex>

#include "http/http_server.h"
#include "store/memory_store.h"

namespace pgshift::server {
namespace {

TEST(CutoverPolicyObserver, PhaseChangesAndFailuresReachTheTeamsWebhooks) {
  std::mutex mu;
  std::vector<nlohmann::json> bodies;
  HttpRouteTable routes;
  routes.Add("POST", "/hook", [&](const HttpRequest& r) {
    std::lock_guard<std::mutex> l(mu);
    bodies.push_back(nlohmann::json::parse(r.body));
    return HttpResponse::Json(200, nlohmann::json::object());
  });
  HttpServer receiver(std::move(routes), HttpServerOptions{});
  ASSERT_TRUE(receiver.Start("127.0.0.1", 0).ok());

  ServerConfig config;
  TeamConfig payments;
  payments.name = "payments";
  payments.webhooks = {"http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook"};
  config.teams["payments"] = payments;
  FakeClock clock;
  clock.Advance(std::chrono::seconds(1796000000));
  MemoryStore store;
  for (const char* name : {"orders-1", "cli-made"}) {
    MigrationRecord r;
    r.name = name;
    r.spec = {{"name", name}, {"source", "host=h"}, {"target", "host=t"}};
    ASSERT_TRUE(store.Create(r, 0).ok());
  }
  ASSERT_TRUE(
      store.MergeControl("orders-1", {{"team", "payments"}, {"cluster", "orders"}}, 0).ok());
  ServerContext ctx(config, store, store, clock);
  CutoverPolicy policy(ctx);
  ASSERT_EQ(ctx.cutover_policy, &policy);
  for (const auto& o : ctx.Observers()) {
    o->OnTransition("orders-1", Phase::kValidating, Phase::kReadyForCutover, "every check passed");
    o->OnTransition("cli-made", Phase::kValidating, Phase::kReadyForCutover, "x");
    o->OnFailure("orders-1", "validate: checks failed: extension_parity");
  }
  ASSERT_TRUE(policy.webhooks().WaitIdle(std::chrono::seconds(10)));
  receiver.Stop();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0], (nlohmann::json{{"event", "phase_changed"},
                                       {"migration", "orders-1"},
                                       {"cluster", "orders"},
                                       {"team", "payments"},
                                       {"from", "validating"},
                                       {"to", "ready_for_cutover"},
                                       {"reason", "every check passed"},
                                       {"at", "2026-11-30T00:53:20Z"}}));
  EXPECT_EQ(bodies[1]["event"], "failed");
  EXPECT_EQ(bodies[1]["from"], "created");  // the phase it stands in, read from the store
  EXPECT_EQ(bodies[1]["reason"], "validate: checks failed: extension_parity");
  EXPECT_EQ(policy.webhooks().Counters().delivered, 2u);
}

TEST(CutoverPolicyGate, TheCutoverGateAsksForTheApproval) {
  ServerConfig config;
  TeamConfig payments;
  payments.name = "payments";
  payments.approval_required = true;
  config.teams["payments"] = payments;
  FakeClock clock;
  MemoryStore store;
  ServerContext ctx(config, store, store, clock);
  CutoverPolicy policy(ctx);
  ASSERT_TRUE(ctx.cutover_gate);
  Status refused = ctx.cutover_gate("orders-1", "payments", Caller{"token:a", "payments", false});
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.message().find("needs an approval by a second identity"), std::string::npos);
  EXPECT_TRUE(ctx.cutover_gate("other", "search", Caller{"token:s", "search", false}).ok());
}

}  // namespace
}  // namespace pgshift::server
