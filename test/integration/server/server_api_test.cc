// The API of a running `pgshift server` with real clusters of two teams: the authorization
// matrix over HTTP (each team and the platform team against each other's resources, every
// verb), every error class, the audit log showing the refused attempts, secret references by
// file and by variable, and the canary password appearing in no answer or log line.
#include <gtest/gtest.h>

#include "common/process.h"
#include "server_test_env.h"

namespace pgshift::testing {
namespace {

nlohmann::json J(const HttpResponse& r) { return ServerProcess::Json(r); }

struct Verb {
  std::string method, path, body;
};

std::string Fill(std::string s, const std::string& c, const std::string& m) {
  for (auto [key, value] : {std::pair<std::string, std::string>{"{c}", c}, {"{m}", m}}) {
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  }
  return s;
}

class ServerApi : public ::testing::Test {
 protected:
  void SetUp() override {
    orders_src_ = PgCluster::Primary();
    index_src_ = PgCluster::Primary();
    env_.StartServer({{"PGSHIFT_TEST_INDEX_PW", PgCluster::kPassword}});
  }
  HttpResponse Keep(HttpResponse r) {
    answers_ += r.body + "\n";
    return r;
  }
  ServerTestEnv env_;
  std::unique_ptr<PgCluster> orders_src_, index_src_;
  std::string answers_;
};

TEST_F(ServerApi, TwoTeamsAndThePlatformAgainstEachOthersResourcesEveryVerb) {
  ServerProcess& s = env_.server();
  // Registration: each team for itself; the search cluster's password comes from a variable.
  nlohmann::json index = env_.LocalCluster("index", "search", *index_src_);
  index["source"]["password"] = {{"env", "PGSHIFT_TEST_INDEX_PW"}};
  auto cross = Keep(s.Post("/v1/clusters", env_.payments_token, index));
  EXPECT_EQ(cross.status, 403) << cross.body;
  EXPECT_EQ(J(cross)["error"]["field"], "team");
  ASSERT_EQ(Keep(s.Post("/v1/clusters", env_.search_token, index)).status, 201);
  ASSERT_EQ(Keep(s.Post("/v1/clusters", env_.payments_token,
                        env_.LocalCluster("orders", "payments", *orders_src_)))
                .status,
            201);
  ASSERT_EQ(Keep(s.Post("/v1/migrations", env_.payments_token,
                        {{"name", "orders-1"}, {"cluster", "orders"}}))
                .status,
            201);
  auto idx = Keep(
      s.Post("/v1/migrations", env_.search_token, {{"name", "index-1"}, {"cluster", "index"}}));
  ASSERT_EQ(idx.status, 201) << idx.body;

  const std::vector<Verb> verbs = {
      {"GET", "/v1/clusters/{c}", ""},
      {"GET", "/v1/migrations/{m}", ""},
      {"GET", "/v1/migrations/{m}/plan", ""},
      {"POST", "/v1/migrations/{m}/arm", "{}"},
      {"POST", "/v1/migrations/{m}/disarm", "{}"},
      {"POST", "/v1/migrations/{m}/approve", "{}"},
      {"POST", "/v1/migrations/{m}/start", "{}"},
      {"POST", "/v1/migrations/{m}/cutover", "{}"},
      {"POST", "/v1/migrations/{m}/rollback", "{}"},
      {"POST", "/v1/migrations/{m}/cancel", "{}"},
      {"POST", "/v1/migrations", R"({"name":"x-2","cluster":"{c}"})"},
  };
  struct Who {
    std::string token, team;
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> owned = {
      {"orders", "orders-1", "payments"}, {"index", "index-1", "search"}};
  for (const Who& who : {Who{env_.payments_token, "payments"}, Who{env_.search_token, "search"}}) {
    for (const auto& [cluster, migration, owner] : owned) {
      if (owner == who.team) continue;
      for (const Verb& v : verbs) {
        const std::string path = Fill(v.path, cluster, migration);
        auto r = Keep(s.Request(v.method, path, who.token, Fill(v.body, cluster, migration)));
        ASSERT_EQ(r.status, 404) << who.team << " " << v.method << " " << path << " " << r.body;
        auto missing = Keep(s.Request(v.method, Fill(v.path, "no-c", "no-m"), who.token,
                                      Fill(v.body, "no-c", "no-m")));
        std::string expected = missing.body;
        for (auto [from, to] :
             {std::pair<std::string, std::string>{"no-m", migration}, {"no-c", cluster}}) {
          for (size_t at; (at = expected.find(from)) != std::string::npos;) {
            expected.replace(at, from.size(), to);
          }
        }
        EXPECT_EQ(r.body, expected) << v.method << " " << path;
      }
      // Lists and streams do not show it either.
      auto list = J(s.Get("/v1/migrations", who.token));
      for (const auto& m : list["migrations"]) EXPECT_NE(m["name"], migration);
      auto filtered = J(s.Get("/v1/clusters?team=" + owner, who.token));
      EXPECT_TRUE(filtered["clusters"].empty()) << filtered.dump();
    }
  }
  // The refused attempts changed nothing: both are still created and not started.
  for (const auto& [cluster, migration, owner] : owned) {
    auto m = J(s.Get("/v1/migrations/" + migration, env_.platform_token));
    EXPECT_EQ(m["phase"], "created");
    EXPECT_EQ(m["started"], false);
    EXPECT_EQ(m["cutover_requested"], false);
    EXPECT_EQ(m["rollback_requested"], false);
    EXPECT_EQ(m["team"], owner);
  }
  EXPECT_EQ(J(s.Get("/v1/migrations", env_.platform_token))["migrations"].size(), 2u);
  EXPECT_EQ(J(s.Get("/v1/clusters", env_.platform_token))["clusters"].size(), 2u);

  // The audit log (platform only) shows the refused attempts, who made them and why.
  auto denied = Keep(s.Get("/v1/audit", env_.payments_token));
  EXPECT_EQ(denied.status, 403);
  auto audit = J(Keep(s.Get("/v1/audit?limit=500&team=search", env_.platform_token)));
  int refused_cutovers = 0;
  for (const auto& e : audit["entries"]) {
    EXPECT_EQ(e["team"], "search");
    if (e["action"] == "migration.cutover" && e["target"] == "migration/orders-1" &&
        e["result"] == "not_found" && e["status"] == 404 && e["identity"] == "token:search-ci") {
      ++refused_cutovers;
    }
  }
  EXPECT_EQ(refused_cutovers, 1) << audit.dump(1);
  auto all = J(s.Get("/v1/audit?limit=500", env_.platform_token));
  bool cross_registration = false;
  for (const auto& e : all["entries"]) {
    if (e["action"] == "cluster.register" && e["team"] == "payments" &&
        e["result"] == "permission_denied" && e["target"] == "cluster/index") {
      cross_registration = true;
    }
  }
  EXPECT_TRUE(cross_registration);

  EXPECT_EQ(answers_.find(PgCluster::kPassword), std::string::npos);
  EXPECT_EQ(s.Log().find(PgCluster::kPassword), std::string::npos);
}

TEST_F(ServerApi, EveryErrorClassOverTheWire) {
  ServerProcess& s = env_.server();
  auto code = [](const HttpResponse& r) { return J(r)["error"]["code"]; };
  ASSERT_EQ(s.Post("/v1/clusters", env_.payments_token,
                   env_.LocalCluster("orders", "payments", *orders_src_))
                .status,
            201);
  // 400 invalid_argument, with the field.
  auto bad = Keep(s.Request("POST", "/v1/migrations", env_.payments_token, "{not json"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(code(bad), "invalid_argument");
  auto opt = Keep(s.Post("/v1/migrations", env_.payments_token,
                         {{"name", "o-1"}, {"cluster", "orders"}, {"options", {{"colour", 1}}}}));
  EXPECT_EQ(opt.status, 400);
  EXPECT_EQ(J(opt)["error"]["field"], "options.colour");
  auto secret = Keep(
      s.Post("/v1/clusters", env_.payments_token,
             {{"name", "c2"},
              {"team", "payments"},
              {"source",
               {{"conninfo", "host=127.0.0.1"}, {"password", {{"env", "PGSHIFT_TEST_NOT_SET"}}}}},
              {"target", {{"kind", "local"}, {"dir", "/tmp/none"}}}}));
  EXPECT_EQ(secret.status, 400);
  EXPECT_EQ(J(secret)["error"]["field"], "source.password");
  EXPECT_NE(J(secret)["error"]["message"].get<std::string>().find("PGSHIFT_TEST_NOT_SET"),
            std::string::npos);
  // 401 unauthenticated.
  EXPECT_EQ(code(Keep(s.Get("/v1/clusters", ""))), "unauthenticated");
  EXPECT_EQ(Keep(s.Get("/v1/clusters", "pgs_" + std::string(43, 'A'))).status, 401);
  // 403 permission_denied.
  EXPECT_EQ(code(Keep(s.Get("/metrics", env_.search_token))), "permission_denied");
  // 404 not_found.
  EXPECT_EQ(code(Keep(s.Get("/v1/migrations/none", env_.payments_token))), "not_found");
  EXPECT_EQ(Keep(s.Get("/v1/nothing", env_.payments_token)).status, 404);
  // 409 already_exists and failed_precondition.
  auto dup = Keep(s.Post("/v1/clusters", env_.payments_token,
                         env_.LocalCluster("orders", "payments", *orders_src_)));
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(code(dup), "already_exists");
  ASSERT_EQ(
      Keep(s.Post("/v1/migrations", env_.payments_token, {{"name", "o-1"}, {"cluster", "orders"}}))
          .status,
      201);
  auto dup_m =
      Keep(s.Post("/v1/migrations", env_.payments_token, {{"name", "o-1"}, {"cluster", "orders"}}));
  EXPECT_EQ(code(dup_m), "already_exists");
  EXPECT_EQ(J(dup_m)["error"]["field"], "name");
  auto second =
      Keep(s.Post("/v1/migrations", env_.payments_token, {{"name", "o-2"}, {"cluster", "orders"}}));
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(code(second), "failed_precondition");
  auto early = Keep(s.Post("/v1/migrations/o-1/cutover", env_.payments_token));
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(code(early), "failed_precondition");
  // 503 unavailable: a source nobody answers on.
  auto down = env_.LocalCluster("down", "payments", *orders_src_);
  down["source"]["conninfo"] = "host=127.0.0.1 port=1 user=postgres dbname=postgres";
  ASSERT_EQ(Keep(s.Post("/v1/clusters", env_.payments_token, down)).status, 201);
  auto unreachable =
      Keep(s.Post("/v1/migrations", env_.payments_token, {{"name", "d-1"}, {"cluster", "down"}}));
  EXPECT_EQ(unreachable.status, 503) << unreachable.body;
  EXPECT_EQ(code(unreachable), "unavailable");
  EXPECT_EQ(J(s.Get("/v1/migrations/d-1", env_.payments_token))["error"]["code"], "not_found");
  // Health without a token; whoami with one.
  EXPECT_EQ(J(s.Get("/v1/health", ""))["status"], "ok");
  auto me = J(s.Get("/v1/whoami", env_.payments_token2));
  EXPECT_EQ(me["identity"], "token:pay-oncall");
  EXPECT_EQ(me["team"], "payments");
  EXPECT_EQ(me["platform"], false);
  EXPECT_EQ(J(s.Get("/v1/whoami", env_.platform_token))["platform"], true);
  auto metrics = s.Get("/metrics", env_.platform_token);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("pgshift_server_requests_total{class=\"4xx\"}"), std::string::npos);
  auto page = s.Get("/", "");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  EXPECT_EQ(answers_.find(PgCluster::kPassword), std::string::npos);
}

}  // namespace
}  // namespace pgshift::testing
