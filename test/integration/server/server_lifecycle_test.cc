// The server process's life: SIGTERM while it drives a migration waiting at the gate ends it
// cleanly (exit 0, the runner lease released), and a restart resumes the migration, which then
// completes through the API. Event streams: two open streams send their status events and do
// not starve the API. TLS with client certificates: a verified CN acts for its team.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/clock.h"
#include "common/process.h"
#include "fixture/certificates.h"
#include "server_test_env.h"
#include "store/sqlite_store.h"

namespace pgshift::testing {
namespace {

nlohmann::json J(const HttpResponse& r) { return ServerProcess::Json(r); }

TEST(ServerLifecycle, SigtermStopsCleanlyAndARestartResumesTheStartedMigration) {
  ServerTestEnv env;
  auto source = PgCluster::Primary();
  env.StartServer();
  ASSERT_EQ(
      env.server()
          .Post("/v1/clusters", env.payments_token, env.LocalCluster("orders", "payments", *source))
          .status,
      201);
  ASSERT_EQ(
      env.server()
          .Post("/v1/migrations", env.payments_token,
                {{"name", "orders-1"}, {"cluster", "orders"}, {"options", {{"check_window_s", 1}}}})
          .status,
      201);
  ASSERT_EQ(env.server().Post("/v1/migrations/orders-1/start", env.payments_token).status, 202);
  auto ready = env.WaitForPhase("orders-1", env.payments_token, "ready_for_cutover,failed");
  ASSERT_EQ(ready["phase"], "ready_for_cutover") << ready.dump(2);

  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(env.server().Stop(), 0) << env.server().Log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
  {
    // The lease was released: another runner gets it at once (and gives it back).
    auto store = SqliteStore::Open(env.store_path());
    ASSERT_TRUE(store.ok());
    auto grant = (*store)->AcquireRunner("orders-1", "probe", std::chrono::seconds(5),
                                         pgshift::Clock::Real().WallSeconds(), "");
    ASSERT_TRUE(grant.ok()) << grant.status().ToString();
    EXPECT_TRUE(grant->acquired) << "held by " << grant->holder;
    if (grant->acquired) {
      EXPECT_TRUE((*store)->ReleaseRunner("orders-1", grant->lease).ok());
    }
  }

  env.StartServer();
  // Resumed: the server drives it again (metrics count one driver) and it takes the cutover.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool driving = false;
  while (!driving && std::chrono::steady_clock::now() < deadline) {
    driving = env.server()
                  .Get("/metrics", env.platform_token)
                  .body.find("pgshift_server_drivers_running 1") != std::string::npos;
    if (!driving) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(driving) << env.server().Get("/metrics", env.platform_token).body;
  auto cut = env.server().Post("/v1/migrations/orders-1/cutover", env.payments_token);
  ASSERT_EQ(cut.status, 202) << cut.body;
  auto done = env.WaitForPhase("orders-1", env.payments_token, "completed,rolled_back,failed");
  EXPECT_EQ(done["phase"], "completed") << done.dump(2);
  EXPECT_NE(env.server().Log().find("resum"), std::string::npos) << env.server().Log();
}

TEST(ServerLifecycle, TwoEventStreamsSendStatusAndLeaveTheApiAnswering) {
  ServerTestEnv env;
  auto source = PgCluster::Primary();
  env.StartServer();
  ServerProcess& s = env.server();
  ASSERT_EQ(
      s.Post("/v1/clusters", env.payments_token, env.LocalCluster("orders", "payments", *source))
          .status,
      201);
  ASSERT_EQ(
      s.Post("/v1/migrations", env.payments_token, {{"name", "orders-1"}, {"cluster", "orders"}})
          .status,
      201);
  TempDir out;
  auto stream = [&](const std::string& path, const std::string& file) {
    return ChildProcess::Start({"curl", "-sN", "--max-time", "5", "-H",
                                "Authorization: Bearer " + env.payments_token, s.base_url() + path},
                               {.stdout_path = out.path() + "/" + file});
  };
  auto one = stream("/v1/migrations/orders-1/stream", "one");
  auto fleet = stream("/v1/stream", "fleet");
  ASSERT_TRUE(one.ok() && fleet.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // While both streams are open, the API answers promptly.
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = s.Get("/v1/migrations", env.payments_token);
    ASSERT_EQ(r.status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  }
  // A change is pushed to the stream.
  ASSERT_EQ(s.Post("/v1/migrations/orders-1/cancel", env.payments_token).status, 202);
  one->Wait(std::chrono::seconds(10));
  fleet->Wait(std::chrono::seconds(10));
  auto read = [&](const std::string& f) {
    auto r = RunCommand({"cat", out.path() + "/" + f});
    return r.ok() ? r->output : std::string();
  };
  std::string a = read("one"), b = read("fleet");
  EXPECT_NE(a.find("event: status\ndata: {"), std::string::npos) << a;
  EXPECT_NE(a.find("\"name\":\"orders-1\""), std::string::npos);
  EXPECT_NE(a.find("\"rollback_requested\":true"), std::string::npos) << a;
  EXPECT_NE(b.find("event: status\ndata: {"), std::string::npos) << b;
  EXPECT_NE(b.find("\"cluster\":\"orders\""), std::string::npos) << b;
  // Another team's stream is a 404 like any other read.
  EXPECT_EQ(s.Get("/v1/migrations/orders-1/stream", env.search_token).status, 404);
  auto done = env.WaitForPhase("orders-1", env.payments_token, "rolled_back,failed");
  EXPECT_EQ(done["phase"], "rolled_back") << done.dump(2);
}

TEST(ServerLifecycle, HttpsWithClientCertificatesMappedToTeams) {
  TestPki pki;
  ServerTestEnv env;
  {
    std::ofstream c(env.config_path());
    c << "[server]\ntls_cert_file = " << pki.server_cert()
      << "\ntls_key_file = " << pki.server_key() << "\nclient_ca_file = " << pki.ca_cert()
      << "\n[team payments]\nclient_cert_cn = payments-ci\n";
  }
  std::string why;
  auto s = ServerProcess::Start({.store_path = env.store_path(),
                                 .config_path = env.config_path(),
                                 .tls_ca_file = pki.ca_cert()},
                                &why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->base_url().rfind("https://127.0.0.1:", 0), 0u) << s->base_url();
  // A token still works over HTTPS without a certificate.
  EXPECT_EQ(J(s->Get("/v1/whoami", env.payments_token))["team"], "payments");
  auto curl = [&](const proxy::ClientCert& cert) {
    auto r = RunCommand({"curl", "-s", "--cacert", pki.ca_cert(), "--cert", cert.cert, "--key",
                         cert.key, s->base_url() + "/v1/whoami"});
    return r.ok() ? r->output : std::string();
  };
  auto mapped = nlohmann::json::parse(curl(pki.Client("payments-ci")), nullptr, false);
  EXPECT_EQ(mapped["identity"], "cert:payments-ci") << mapped.dump();
  EXPECT_EQ(mapped["team"], "payments");
  auto stranger = nlohmann::json::parse(curl(pki.Client("stranger")), nullptr, false);
  EXPECT_EQ(stranger["error"]["code"], "unauthenticated") << stranger.dump();
  // A certificate from another CA does not even complete the handshake.
  EXPECT_EQ(curl(pki.Untrusted("payments-ci")).find("payments"), std::string::npos);
  EXPECT_EQ(s->Stop(), 0) << s->Log();
}

TEST(ServerLifecycle, APlainListenerBeyondLoopbackIsRefusedUnlessAllowed) {
  ServerTestEnv env;
  std::string why;
  auto refused =
      ServerProcess::Start({.store_path = env.store_path(), .listen = "0.0.0.0:0"}, &why);
  EXPECT_FALSE(refused);
  EXPECT_NE(why.find("allow_plain_http_beyond_loopback"), std::string::npos) << why;
}

}  // namespace
}  // namespace pgshift::testing
