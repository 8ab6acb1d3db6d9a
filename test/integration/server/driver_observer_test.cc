// The hook other parts subscribe to (webhooks, armed cutovers, metric series): a
// MigrationObserver added to the ControlPlaneServer's context hears every phase change the
// driver makes durable, in order, and the progress reports; a throwing observer breaks nothing.
// In-process server over a real source cluster.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "fixture/pg_cluster.h"
#include "fixture/temp_dir.h"
#include "http/http_client.h"
#include "server/api_token.h"
#include "server/control_plane_server.h"
#include "server_test_env.h"
#include "store/sqlite_store.h"

namespace pgshift::testing {
namespace {

class RecordingObserver : public server::MigrationObserver {
 public:
  void OnTransition(const std::string& m, Phase from, Phase to, const std::string&) override {
    std::lock_guard<std::mutex> l(mu_);
    moves_.push_back(m + ":" + std::string(PhaseName(from)) + "->" + std::string(PhaseName(to)));
  }
  void OnProgress(const std::string&, const ProgressUpdate&) override {
    std::lock_guard<std::mutex> l(mu_);
    ++progress_;
  }
  std::vector<std::string> moves() {
    std::lock_guard<std::mutex> l(mu_);
    return moves_;
  }
  int progress() {
    std::lock_guard<std::mutex> l(mu_);
    return progress_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> moves_;
  int progress_ = 0;
};

class ThrowingObserver : public server::MigrationObserver {
 public:
  void OnTransition(const std::string&, Phase, Phase, const std::string&) override {
    throw std::runtime_error("webhook exploded");
  }
  void OnProgress(const std::string&, const ProgressUpdate&) override {
    throw std::runtime_error("chart exploded");
  }
};

TEST(DriverObserver, HearsEveryTransitionInOrderAndAThrowingObserverBreaksNothing) {
  TempDir dir;
  auto source = PgCluster::Primary();
  auto store = SqliteStore::Open(dir.path() + "/s.db");
  ASSERT_TRUE(store.ok());
  std::string token = *server::GenerateApiToken();
  ASSERT_TRUE((*store)->AddToken({server::Sha256Hex(token), "payments", false, "ci", 0}, 1).ok());
  std::string pw = dir.path() + "/pw";
  std::ofstream(pw) << PgCluster::kPassword;

  server::ControlPlaneServer srv(server::ServerConfig{}, **store, **store, Clock::Real());
  auto recorder = std::make_shared<RecordingObserver>();
  srv.ctx().AddObserver(std::make_shared<ThrowingObserver>());
  srv.ctx().AddObserver(recorder);
  ASSERT_TRUE(srv.Start().ok());
  auto call = [&](const std::string& method, const std::string& path, nlohmann::json body) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body.is_null() ? "" : body.dump();
    r.headers["authorization"] = "Bearer " + token;
    auto a =
        HttpClient("127.0.0.1:" + std::to_string(srv.port())).Send(r, std::chrono::seconds(60));
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : HttpResponse{};
  };
  nlohmann::json cluster = {
      {"name", "orders"},
      {"team", "payments"},
      {"source", {{"conninfo", ServerTestEnv::ConninfoOf(*source)}, {"password", {{"file", pw}}}}},
      {"target", {{"kind", "local"}, {"dir", dir.path() + "/target"}}}};
  ASSERT_EQ(call("POST", "/v1/clusters", cluster).status, 201);
  ASSERT_EQ(
      call("POST", "/v1/migrations",
           {{"name", "orders-1"}, {"cluster", "orders"}, {"options", {{"check_window_s", 1}}}})
          .status,
      201);
  ASSERT_EQ(call("POST", "/v1/migrations/orders-1/start", nlohmann::json::object()).status, 202);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (recorder->moves().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(
      recorder->moves(),
      (std::vector<std::string>{"orders-1:created->replicating", "orders-1:replicating->validating",
                                "orders-1:validating->ready_for_cutover"}));
  EXPECT_GT(recorder->progress(), 0);
  // Done with it: cancel, and stop the server (the driver rolls back first or stops after its
  // turn; either way the lease is released).
  EXPECT_EQ(call("POST", "/v1/migrations/orders-1/cancel", nlohmann::json::object()).status, 202);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (*store)->Get("orders-1")->phase != Phase::kRolledBack) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ((*store)->Get("orders-1")->phase, Phase::kRolledBack);
  srv.Stop();
}

}  // namespace
}  // namespace pgshift::testing
