// The authorization matrix through the API's route table (no socket, MemoryStore): each of two
// teams and the platform team against each other's clusters and migrations, every verb. A
// team gets 404 for the other's resource, with the very body a missing one gets; the platform
// team acts on both; platform-only endpoints answer a team 403; a refused request changes
// nothing and is in the audit log. Also the event stream's first event and the list filters.
#include <gtest/gtest.h>

#include <fstream>

#include "fixture/temp_dir.h"
#include "server/api_routes.h"
#include "server/api_token.h"
#include "server/authorization.h"
#include "server/server_context.h"
#include "store/memory_store.h"

namespace pgshift::server {
namespace {

class AuthorizationMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Advance(std::chrono::hours(24 * 365 * 50));
    pay_ = Token("payments", false, "pay-ci");
    search_ = Token("search", false, "search-ci");
    platform_ = Token("platform", true, "admin");
    Cluster("orders", "payments");
    Cluster("index", "search");
    Migration("orders-1", "orders", "payments", Phase::kReadyForCutover);
    Migration("index-1", "index", "search", Phase::kReadyForCutover);
    ctx_ = std::make_unique<ServerContext>(ServerConfig{}, store_, store_, clock_);
    routes_ = BuildApiRoutes(*ctx_);
  }
  std::string Token(const std::string& team, bool platform, const std::string& label) {
    std::string t = *GenerateApiToken();
    EXPECT_TRUE(store_.AddToken({Sha256Hex(t), team, platform, label, 0}, 1).ok());
    return t;
  }
  void Cluster(const std::string& name, const std::string& team) {
    ClusterRecord c;
    c.name = name;
    c.team = team;
    c.registration = {{"source", {{"conninfo", "host=127.0.0.1 user=postgres"}}},
                      {"target", {{"kind", "local"}, {"dir", "/srv/" + name}}}};
    ASSERT_TRUE(store_.CreateCluster(c, 1).ok());
  }
  void Migration(const std::string& name, const std::string& cluster, const std::string& team,
                 Phase phase) {
    MigrationRecord r;
    r.name = name;
    r.phase = phase;
    r.spec = {{"name", name}, {"source", "host=127.0.0.1"}, {"target", "host=127.0.0.1"}};
    ASSERT_TRUE(store_.Create(r, 2).ok());
    ASSERT_TRUE(
        store_.MergeControl(name, {{"cluster", cluster}, {"team", team}, {"started", true}}, 2)
            .ok());
  }
  HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    size_t q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) {
      std::string query = path.substr(q + 1);
      size_t eq = query.find('=');
      r.query[query.substr(0, eq)] = query.substr(eq + 1);
    }
    r.body = body;
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return routes_.Dispatch(r);
  }
  static nlohmann::json J(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

  FakeClock clock_;
  MemoryStore store_;
  std::unique_ptr<ServerContext> ctx_;
  HttpRouteTable routes_;
  std::string pay_, search_, platform_;
};

struct Verb {
  std::string method;
  std::string path;  // {m}: the migration, {c}: the cluster
  std::string body;
};

const std::vector<Verb>& Verbs() {
  static const std::vector<Verb> verbs = {
      {"GET", "/v1/clusters/{c}", ""},
      {"GET", "/v1/migrations/{m}", ""},
      {"GET", "/v1/migrations/{m}/stream", ""},
      {"GET", "/v1/migrations/{m}/plan", ""},
      {"POST", "/v1/migrations/{m}/arm", "{}"},
      {"POST", "/v1/migrations/{m}/disarm", "{}"},
      {"POST", "/v1/migrations/{m}/approve", "{}"},
      {"POST", "/v1/migrations/{m}/start", "{}"},
      {"POST", "/v1/migrations/{m}/cutover", "{}"},
      {"POST", "/v1/migrations/{m}/rollback", "{\"keep_target_writes\":false}"},
      {"POST", "/v1/migrations/{m}/cancel", "{}"},
      {"POST", "/v1/migrations", "{\"name\":\"new-1\",\"cluster\":\"{c}\"}"},
  };
  return verbs;
}

std::string Fill(std::string s, const std::string& cluster, const std::string& migration) {
  for (auto [key, value] :
       {std::pair<std::string, std::string>{"{c}", cluster}, {"{m}", migration}}) {
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  }
  return s;
}

TEST_F(AuthorizationMatrix, AnotherTeamsResourceIsAnsweredExactlyLikeAMissingOne) {
  struct Who {
    std::string token, team;
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> resources = {
      {"orders", "orders-1", "payments"}, {"index", "index-1", "search"}};
  for (const Who& who : {Who{pay_, "payments"}, Who{search_, "search"}}) {
    for (const auto& [cluster, migration, owner] : resources) {
      for (const Verb& v : Verbs()) {
        const std::string path = Fill(v.path, cluster, migration);
        HttpResponse r = Call(v.method, path, who.token, Fill(v.body, cluster, migration));
        if (who.team == owner) {
          EXPECT_NE(r.status, 404) << who.team << " " << v.method << " " << path << " " << r.body;
          EXPECT_NE(r.status, 403) << who.team << " " << v.method << " " << path;
          continue;
        }
        ASSERT_EQ(r.status, 404) << who.team << " " << v.method << " " << path << " " << r.body;
        // The same body as for a name that does not exist at all.
        const std::string missing_c = "zz-" + cluster, missing_m = "zz-" + migration;
        HttpResponse m = Call(v.method, Fill(v.path, missing_c, missing_m), who.token,
                              Fill(v.body, missing_c, missing_m));
        ASSERT_EQ(m.status, 404) << v.path;
        std::string expected = m.body;
        for (auto [from, to] : {std::pair{missing_m, migration}, std::pair{missing_c, cluster}}) {
          for (size_t at; (at = expected.find(from)) != std::string::npos;) {
            expected.replace(at, from.size(), to);
          }
        }
        EXPECT_EQ(r.body, expected) << v.method << " " << path;
      }
    }
  }
}

TEST_F(AuthorizationMatrix, ThePlatformTeamReachesEveryTeamsResources) {
  for (const auto& [cluster, migration] : {std::pair{"orders", "orders-1"}, {"index", "index-1"}}) {
    EXPECT_EQ(Call("GET", std::string("/v1/clusters/") + cluster, platform_).status, 200);
    EXPECT_EQ(Call("GET", std::string("/v1/migrations/") + migration, platform_).status, 200);
    HttpResponse cut =
        Call("POST", std::string("/v1/migrations/") + migration + "/cutover", platform_, "{}");
    EXPECT_EQ(cut.status, 202) << cut.body;
    EXPECT_TRUE(store_.Get(migration)->cutover_requested);
  }
}

TEST_F(AuthorizationMatrix, ARefusedRequestChangesNothingAndIsAudited) {
  HttpResponse r = Call("POST", "/v1/migrations/orders-1/cutover", search_, "{}");
  ASSERT_EQ(r.status, 404);
  EXPECT_FALSE(store_.Get("orders-1")->cutover_requested);
  HttpResponse rb = Call("POST", "/v1/migrations/orders-1/rollback", search_, "{}");
  ASSERT_EQ(rb.status, 404);
  EXPECT_FALSE(store_.Get("orders-1")->rollback_requested);
  auto audit = store_.ListAudit(10, "search");
  ASSERT_TRUE(audit.ok());
  ASSERT_GE(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].action, "migration.rollback");
  EXPECT_EQ((*audit)[0].identity, "token:search-ci");
  EXPECT_EQ((*audit)[0].target, "migration/orders-1");
  EXPECT_EQ((*audit)[0].result, "not_found");
  EXPECT_EQ((*audit)[0].status, 404);
  EXPECT_EQ((*audit)[1].action, "migration.cutover");
}

TEST_F(AuthorizationMatrix, WithoutATokenEverythingButHealthAndThePageIs401AndAudited) {
  for (const Verb& v : Verbs()) {
    HttpResponse r = Call(v.method, Fill(v.path, "orders", "orders-1"), "", v.body);
    EXPECT_EQ(r.status, 401) << v.path;
    EXPECT_EQ(J(r)["error"]["code"], "unauthenticated");
  }
  EXPECT_EQ(Call("GET", "/v1/clusters", "").status, 401);
  EXPECT_EQ(Call("GET", "/v1/whoami", "").status, 401);
  EXPECT_EQ(Call("GET", "/v1/health", "").status, 200);
  EXPECT_EQ(Call("GET", "/", "").status, 200);
  auto audit = store_.ListAudit(100, "");
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ((*audit)[0].identity, "anonymous");
  EXPECT_EQ((*audit)[0].result, "unauthenticated");
}

TEST_F(AuthorizationMatrix, PlatformOnlyEndpointsAnswerATeam403) {
  for (const std::string path : {"/v1/audit", "/metrics"}) {
    HttpResponse r = Call("GET", path, pay_);
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_EQ(J(r)["error"]["code"], "permission_denied");
    EXPECT_EQ(Call("GET", path, platform_).status, 200) << path;
  }
  // Audited: both reads of the log and the refused /metrics (a served /metrics names nothing).
  auto audit = J(Call("GET", "/v1/audit?limit=5", platform_));
  ASSERT_EQ(audit["entries"].size(), 3u) << audit.dump();
  EXPECT_EQ(audit["entries"][0]["action"], "metrics.read");
  EXPECT_EQ(audit["entries"][0]["status"], 403);
  EXPECT_EQ(audit["entries"][2]["result"], "permission_denied");
  EXPECT_EQ(Call("GET", "/v1/audit?limit=x", platform_).status, 400);
}

TEST_F(AuthorizationMatrix, ATeamRegistersForItselfOnlyThePlatformForAnyTeam) {
  testing::TempDir dir;
  const std::string pw = dir.path() + "/pw";
  std::ofstream(pw) << "canary-secret\n";
  nlohmann::json body = {{"name", "ledger"},
                         {"team", "search"},
                         {"source", {{"conninfo", "host=127.0.0.1"}, {"password", {{"file", pw}}}}},
                         {"target", {{"kind", "local"}, {"dir", "/srv/ledger"}}}};
  HttpResponse r = Call("POST", "/v1/clusters", pay_, body.dump());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(J(r)["error"]["field"], "team");
  EXPECT_FALSE(store_.GetCluster("ledger").ok());
  HttpResponse ok = Call("POST", "/v1/clusters", platform_, body.dump());
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(J(ok)["source"]["password"]["file"], pw);
  EXPECT_EQ(ok.body.find("canary-secret"), std::string::npos);
  HttpResponse dup = Call("POST", "/v1/clusters", search_, body.dump());
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(J(dup)["error"]["code"], "already_exists");
}

TEST_F(AuthorizationMatrix, RegistrationErrorsNameTheirField) {
  struct Case {
    nlohmann::json patch;
    std::string field;
  };
  const nlohmann::json base = {{"name", "c1"},
                               {"team", "payments"},
                               {"source", {{"conninfo", "host=127.0.0.1"}}},
                               {"target", {{"kind", "local"}, {"dir", "/srv/c1"}}}};
  const std::vector<Case> cases = {
      {{{"source", {{"conninfo", "host=127.0.0.1 password=hunter2"}}}}, "source.conninfo"},
      {{{"source", {{"conninfo", "host=127.0.0.1"}, {"password", {{"file", "/nonexistent"}}}}}},
       "source.password"},
      {{{"source", {{"conninfo", "host=127.0.0.1"}, {"password", "plain"}}}}, "source.password"},
      {{{"target", {{"kind", "cloud"}}}}, "target.kind"},
      {{{"target", {{"dir", nullptr}}}}, "target.dir"},
      {{{"target",
         {{"kind", "replica"}, {"dir", nullptr}, {"conninfo", "host=x"}, {"fence_command", "f"}}}},
       "target.unfence_command"},
      {{{"name", "bad name!"}}, "name"},
      {{{"labels", {{"tier", 3}}}}, "labels.tier"},
      {{{"proxies",
         {{"cluster", "c1"},
          {"admins", {{{"address", "127.0.0.1:1"}, {"token", {{"env", "X"}}}}}}}}},
       "proxies.admins[0].token"},
      {{{"extra", 1}}, "extra"},
  };
  for (const Case& c : cases) {
    nlohmann::json body = base;
    body.merge_patch(c.patch);
    HttpResponse r = Call("POST", "/v1/clusters", pay_, body.dump());
    EXPECT_EQ(r.status, 400) << c.patch.dump() << " " << r.body;
    EXPECT_EQ(J(r)["error"]["code"], "invalid_argument");
    EXPECT_EQ(J(r)["error"]["field"], c.field) << r.body;
    EXPECT_EQ(r.body.find("hunter2"), std::string::npos);
  }
  EXPECT_FALSE(store_.GetCluster("c1").ok());
  EXPECT_EQ(Call("POST", "/v1/clusters", pay_, "not json").status, 400);
}

TEST_F(AuthorizationMatrix, ListsShowOnlyWhatTheCallerMaySee) {
  auto names = [](const nlohmann::json& list, const char* key) {
    std::vector<std::string> out;
    for (const auto& m : list[key]) out.push_back(m["name"]);
    return out;
  };
  EXPECT_EQ(names(J(Call("GET", "/v1/migrations", pay_)), "migrations"),
            std::vector<std::string>{"orders-1"});
  EXPECT_TRUE(names(J(Call("GET", "/v1/migrations?team=search", pay_)), "migrations").empty());
  EXPECT_EQ(names(J(Call("GET", "/v1/migrations", platform_)), "migrations").size(), 2u);
  EXPECT_EQ(names(J(Call("GET", "/v1/migrations?team=search", platform_)), "migrations"),
            std::vector<std::string>{"index-1"});
  EXPECT_EQ(names(J(Call("GET", "/v1/migrations?cluster=index", platform_)), "migrations"),
            std::vector<std::string>{"index-1"});
  EXPECT_TRUE(
      names(J(Call("GET", "/v1/migrations?phase=completed", platform_)), "migrations").empty());
  EXPECT_EQ(Call("GET", "/v1/migrations?phase=nonsense", platform_).status, 400);
  EXPECT_EQ(names(J(Call("GET", "/v1/clusters", search_)), "clusters"),
            std::vector<std::string>{"index"});
  EXPECT_EQ(names(J(Call("GET", "/v1/clusters", platform_)), "clusters").size(), 2u);
  auto summary = J(Call("GET", "/v1/migrations", pay_))["migrations"][0];
  for (const char* k : {"name", "cluster", "team", "phase", "state", "lag_bytes", "updated_at"}) {
    EXPECT_TRUE(summary.contains(k)) << k;
  }
}

TEST_F(AuthorizationMatrix, AnActionThePhaseDoesNotAllowIs409AndChangesNothing) {
  HttpResponse start = Call("POST", "/v1/migrations/orders-1/start", pay_, "{}");
  EXPECT_EQ(start.status, 409);
  EXPECT_EQ(J(start)["error"]["code"], "failed_precondition");
  HttpResponse cut = Call("POST", "/v1/migrations/orders-1/cutover", pay_, "{}");
  ASSERT_EQ(cut.status, 202);
  HttpResponse again = Call("POST", "/v1/migrations/orders-1/cutover", pay_, "{}");
  EXPECT_EQ(again.status, 409);
  auto view = J(Call("GET", "/v1/migrations/orders-1", pay_));
  EXPECT_EQ(view["actions"]["cutover"], false);
  EXPECT_EQ(view["actions"]["rollback"], true);
  EXPECT_EQ(view["team"], "payments");
  EXPECT_TRUE(view["series"]["lag_bytes"].is_array());
  HttpResponse bad =
      Call("POST", "/v1/migrations/orders-1/rollback", pay_, "{\"keep_target_writes\":\"yes\"}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(store_.Get("orders-1")->rollback_requested);
}

TEST_F(AuthorizationMatrix, NotesAppearAmongTheEvents) {
  ASSERT_TRUE(store_.AppendNote("orders-1", "window ended without green gates", 3).ok());
  auto view = J(Call("GET", "/v1/migrations/orders-1", pay_));
  bool found = false;
  for (const auto& e : view["events"]) {
    if (e["kind"] == "note" && e["reason"] == "window ended without green gates") found = true;
  }
  EXPECT_TRUE(found) << view["events"].dump();
}

TEST_F(AuthorizationMatrix, TheMigrationStreamSendsAStatusEventFirst) {
  HttpResponse r = Call("GET", "/v1/migrations/orders-1/stream", pay_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream");
  ASSERT_TRUE(r.stream);
  std::string got;
  r.stream([&](std::string_view chunk) {
    got += chunk;
    return got.find("event: status") == std::string::npos;  // stop after the first event
  });
  ASSERT_NE(got.find("event: status\ndata: {"), std::string::npos) << got;
  auto data = nlohmann::json::parse(got.substr(
      got.find("data: ") + 6, got.find("\n\n", got.find("data: ")) - got.find("data: ") - 6));
  EXPECT_EQ(data["name"], "orders-1");
}

TEST_F(AuthorizationMatrix, UnknownEndpointsUseTheSameErrorBody) {
  HttpResponse r = Call("GET", "/v1/nothing", pay_);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(J(r)["error"]["code"], "not_found");
  HttpResponse m = Call("DELETE", "/v1/clusters/orders", pay_);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(J(m)["error"]["code"], "invalid_argument");
}

}  // namespace
}  // namespace pgshift::server

namespace pgshift::server {
namespace {

TEST_F(AuthorizationMatrix, StreamsPastTheCapAreRefusedSoTheApiKeepsItsWorkers) {
  ctx_->metrics.streams_open = 48;
  HttpResponse r = Call("GET", "/v1/migrations/orders-1/stream", pay_);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(J(r)["error"]["code"], "unavailable");
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(Call("GET", "/v1/stream", pay_).status, 503);
  ctx_->metrics.streams_open = 47;
  EXPECT_EQ(Call("GET", "/v1/stream", pay_).status, 200);
}

}  // namespace
}  // namespace pgshift::server
