// A pause that lapses must never let sessions write through the target fence (chaos finding 1,
// docs/chaos.md): the engine switches the proxies' route to the target inside the pause,
// counting on the sessions staying held until its explicit resume after the logical slots
// exist; when it is frozen the pause lapses and the sessions resumed at once on the switched
// route, turning the target's read-only off for themselves: commits before the slots existed,
// which no CDC consumer ever decoded. Here, against a real proxy and a cluster standing in for
// the promoted target with its fence up: after a lapse the held session, a new one, and one
// on a pooled backend stay read-only there (their writes fail, nothing is committed); the
// explicit resume confirms the route and they all write. The same for a `pgshift proxy`
// process killed (-9) after the switch and restarted from its route file, which keeps whether
// the route was confirmed.
// And chaos finding 3: a pause request read after its not_after (a proxy frozen before the
// cutover) holds nothing and is refused as expired; one in time pauses.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "platform/port_reservation.h"
#include "platform/target_fence.h"
#include "proxy_harness.h"
#include "proxy_process.h"
#include "workflow/proxy_router.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;

// Polls `done` every 20 ms for up to 30 s (a loaded machine): a condition the test waits for,
// never a duration it assumes.
template <typename Done>
bool WaitFor(Done done) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string SwitchBody(int port, uint64_t version) {
  return json{{"host", "127.0.0.1"}, {"port", port}, {"version", version}}.dump();
}

// The orders route as GET /v1/routes shows it.
template <typename Proxy>
json OrdersRoute(const Proxy& p) {
  json routes = json::parse(p.Admin("GET", "/v1/routes").body, nullptr, false);
  if (!routes.is_object() || !routes.contains("routes")) return json::object();
  return routes["routes"]["orders"];
}

void ExpectReadOnly(const Status& write, const std::string& who) {
  EXPECT_FALSE(write.ok()) << who << " committed on the fenced target before an explicit resume";
  EXPECT_NE(write.message().find("read-only"), std::string::npos)
      << who << ": " << write.ToString();
}

class PauseLapseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_ = PgCluster::Primary();
    ProxyHarness::PrepareBackend(*target_);
    // The promoted target's fence, as the engine sets it (read-only and the marker the proxy
    // writes through), on a cluster of its own.
    auto conn = PgConnection::Connect(target_->Conn());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    fence_conn_.emplace(std::move(*conn));
    TargetFenceOptions options;
    options.orchestrator_user = "postgres";
    options.admitted_roles = {"app"};
    Status fenced = ApplyTargetReadOnly(*fence_conn_, options, Clock::Real());
    ASSERT_TRUE(fenced.ok()) << fenced.ToString();
  }

  std::string Committed() { return target_->Value("SELECT count(*) FROM items", "appdb"); }

  ProxyHarness h_;
  std::unique_ptr<PgCluster> target_;
  std::optional<PgConnection> fence_conn_;
};

// The engine opens each session's standby link to the target before the pause (prepare),
// when the target's fence is already up. That login is for a route no resume confirmed: it
// must not write through either, or the session moved onto it at the switch writes on the
// target as soon as a lapse lets it (chaos replay: seed 11457603620994199332, engine frozen in
// promoting; 1058 acknowledged rows never decoded with the first version of the fix).
TEST_F(PauseLapseTest, AStandbyLinkOpenedBeforeThePauseStaysReadOnlyThroughALapse) {
  auto held = h_.Connect();
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ASSERT_TRUE(held->Exec("SELECT 1").ok());
  HttpResponse prepared = h_.Admin(
      "POST", "/v1/clusters/orders/prepare",
      json{{"host", "127.0.0.1"}, {"port", target_->port()}, {"deadline_ms", 10000}}.dump());
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  ASSERT_EQ(json::parse(prepared.body)["open"], 1) << prepared.body;

  ASSERT_EQ(h_.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":300})")
                .status,
            200);
  HttpResponse sw = h_.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target_->port(), 5));
  ASSERT_EQ(sw.status, 200) << sw.body;
  ASSERT_TRUE(WaitFor([&] { return OrdersRoute(h_).value("paused", true) == false; }))
      << "the pause did not lapse";
  EXPECT_EQ(*held->QueryValue("SELECT inet_server_port()"), std::to_string(target_->port()));
  ExpectReadOnly(held->Exec("INSERT INTO items VALUES (1, 'held on its standby link')"),
                 "the session moved onto its standby link");
  EXPECT_EQ(Committed(), "0");

  ASSERT_EQ(h_.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  Status after = held->Exec("INSERT INTO items VALUES (1, 'after the resume')");
  EXPECT_TRUE(after.ok()) << after.ToString();
  EXPECT_EQ(Committed(), "1");
}

TEST_F(PauseLapseTest, ALapsedPauseLeavesTheSwitchedRouteReadOnlyUntilAnExplicitResume) {
  auto held = h_.Connect();
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ASSERT_TRUE(held->Exec("SELECT 1").ok());

  // The engine's early switch: inside a pause with a short lease, that then lapses (the
  // engine frozen: no renewal, no resume).
  ASSERT_EQ(h_.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":300})")
                .status,
            200);
  HttpResponse sw = h_.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target_->port(), 5));
  ASSERT_EQ(sw.status, 200) << sw.body;
  EXPECT_EQ(json::parse(sw.body)["moved"], 1) << sw.body;
  ASSERT_TRUE(WaitFor([&] { return OrdersRoute(h_).value("paused", true) == false; }))
      << "the pause did not lapse";
  EXPECT_EQ(h_.Metric("pgshift_proxy_lease_lapses_total"), 1);
  EXPECT_EQ(OrdersRoute(h_)["confirmed"], false);

  // The sessions run again, on the target, read-only there.
  EXPECT_EQ(*held->QueryValue("SELECT inet_server_port()"), std::to_string(target_->port()));
  ExpectReadOnly(held->Exec("INSERT INTO items VALUES (1, 'held, after the lapse')"),
                 "the held session");
  auto fresh = h_.Connect();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  ExpectReadOnly(fresh->Exec("INSERT INTO items VALUES (2, 'new, after the lapse')"),
                 "a new session");
  EXPECT_EQ(Committed(), "0");

  // The woken engine resumes explicitly (its pause had lapsed: still OK), once the slots exist.
  ASSERT_EQ(h_.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  EXPECT_EQ(OrdersRoute(h_)["confirmed"], true);
  Status held_write = held->Exec("INSERT INTO items VALUES (1, 'held, after the resume')");
  EXPECT_TRUE(held_write.ok()) << held_write.ToString();
  Status fresh_write = fresh->Exec("INSERT INTO items VALUES (2, 'new, after the resume')");
  EXPECT_TRUE(fresh_write.ok()) << fresh_write.ToString();
  {
    auto later = h_.Connect();
    ASSERT_TRUE(later.ok()) << later.status().ToString();
    Status later_write = later->Exec("INSERT INTO items VALUES (3, 'logged in after the resume')");
    EXPECT_TRUE(later_write.ok()) << later_write.ToString();
  }  // its backend goes back to the pool

  // A backend the pool hands out again was reset to the server's defaults (read-only while the
  // fence is up): the session that takes it writes through as well.
  ASSERT_TRUE(WaitFor([&] { return h_.Metric("pgshift_proxy_pool_idle_backends") >= 1; }));
  long hits = h_.Metric("pgshift_proxy_pool_hits_total");
  auto pooled = h_.Connect();
  ASSERT_TRUE(pooled.ok()) << pooled.status().ToString();
  EXPECT_EQ(h_.Metric("pgshift_proxy_pool_hits_total"), hits + 1) << "not a pooled backend";
  Status pooled_write = pooled->Exec("INSERT INTO items VALUES (4, 'on a pooled backend')");
  EXPECT_TRUE(pooled_write.ok()) << pooled_write.ToString();
  EXPECT_EQ(Committed(), "4");
  EXPECT_GE(h_.Metric("pgshift_proxy_fence_write_throughs_total"), 3);
}

// kill -9 of a proxy after the switch, restart from its config: the route file says the route
// was never confirmed, so the restarted proxy's sessions stay read-only on the fenced target
// until the explicit resume; a confirmation is persisted too.
TEST_F(PauseLapseTest, ARouteLoadedFromTheRouteFileKeepsItsConfirmation) {
  h_.proxy->Stop();  // the processes serve the harness's config on ports of their own
  const int port = *ReservePort(), admin = *ReservePort();
  proxy::ClientCert cert = h_.pki.Client("svc-orders");
  {
    ProxyProcess first(h_, port, admin);
    ASSERT_TRUE(first.started());
    ASSERT_EQ(
        first.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":20000})")
            .status,
        200);
    ASSERT_EQ(
        first.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target_->port(), 5)).status,
        200);
    first.KillNow();
  }
  {
    ProxyProcess second(h_, port, admin);
    ASSERT_TRUE(second.started());
    json route = OrdersRoute(second);
    EXPECT_EQ(route["port"], target_->port());
    EXPECT_EQ(route["paused"], false);
    EXPECT_EQ(route["confirmed"], false);
    auto session = PgConnection::Connect(*ConnInfo::Parse(second.ConnString(cert), "proxy"));
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    ExpectReadOnly(session->Exec("INSERT INTO items VALUES (1, 'after the restart')"),
                   "a session of the restarted proxy");
    EXPECT_EQ(Committed(), "0");

    ASSERT_EQ(second.Admin("POST", "/v1/clusters/orders/resume").status, 200);
    EXPECT_EQ(OrdersRoute(second)["confirmed"], true);
    Status write = session->Exec("INSERT INTO items VALUES (1, 'after the resume')");
    EXPECT_TRUE(write.ok()) << write.ToString();
    second.KillNow();
  }
  ProxyProcess third(h_, port, admin);
  ASSERT_TRUE(third.started());
  EXPECT_EQ(OrdersRoute(third)["confirmed"], true);
  auto session = PgConnection::Connect(*ConnInfo::Parse(third.ConnString(cert), "proxy"));
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  Status write = session->Exec("INSERT INTO items VALUES (2, 'after a restart, confirmed')");
  EXPECT_TRUE(write.ok()) << write.ToString();
  EXPECT_EQ(Committed(), "2");
}

// Chaos finding 3: the request carries its not_after; read after it, it holds nothing.
TEST(StalePause, ARequestReadAfterItsNotAfterHoldsNothingAndIsRefusedAsExpired) {
  ProxyHarness h;
  auto session = h.Connect();
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // Sent a minute ago with a 5 s deadline: its sender gave up long ago.
  json stale = {{"deadline_ms", 5000}, {"lease_ms", 60000}, {"not_after_unix_ms", now_ms - 55000}};
  HttpResponse refused = h.Admin("POST", "/v1/clusters/orders/pause", stale.dump());
  EXPECT_EQ(refused.status, 409) << refused.body;
  json answer = json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << refused.body;
  EXPECT_EQ(answer["paused"], false);
  EXPECT_EQ(answer.value("expired", false), true) << refused.body;
  EXPECT_NE(answer.value("reason", "").find("expired"), std::string::npos) << refused.body;
  EXPECT_NE(answer.value("reason", "").find("cluster orders"), std::string::npos) << refused.body;
  EXPECT_EQ(OrdersRoute(h)["paused"], false) << "a stale pause held the cluster";
  EXPECT_EQ(h.Metric("pgshift_proxy_pauses_total"), 0);
  EXPECT_EQ(h.Metric("pgshift_proxy_expired_pauses_refused_total"), 1);
  EXPECT_TRUE(session->Exec("SELECT 1").ok());

  // In time: it pauses (and an older engine's request, without the field, still does).
  json fresh = {{"deadline_ms", 5000}, {"lease_ms", 60000}, {"not_after_unix_ms", now_ms + 5000}};
  HttpResponse paused = h.Admin("POST", "/v1/clusters/orders/pause", fresh.dump());
  EXPECT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(OrdersRoute(h)["paused"], true);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":60000})")
                .status,
            200);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  EXPECT_TRUE(session->Exec("SELECT 1").ok());

  // The engine's router sends a not_after the proxy takes (its own clock, in ms).
  ProxyRouter router("orders",
                     {{"127.0.0.1:" + std::to_string(h.proxy->admin_port()), kAdminToken}});
  Status routed = router.Pause(std::chrono::seconds(5), std::chrono::seconds(60));
  EXPECT_TRUE(routed.ok()) << routed.ToString();
  EXPECT_EQ(OrdersRoute(h)["paused"], true);
  EXPECT_TRUE(router.Resume().ok());
  EXPECT_EQ(h.Metric("pgshift_proxy_expired_pauses_refused_total"), 1);
}

}  // namespace
}  // namespace pgshift::testing
