// docs/openapi.yaml against the running server: test/browser/openapi_check.mjs (node, ajv)
// calls every documented GET and a representative set of POSTs, successes and each error
// class, as the platform, a team and another team, against a real `pgshift server` with real
// PostgreSQL clusters, and validates every answer against the schema documented for its
// status; it also fails when the server answers a method or path the file does not document.
// The check itself must be able to fail: a copy of the file with a schema the server does not
// meet, and one with an endpoint left out, are both refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "common/process.h"
#include "fixture/pg_cluster.h"
#include "fixture/server_process.h"
#include "fixture/temp_dir.h"
#include "platform/local_instance.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kBrowserDir = std::string(PGSHIFT_SOURCE_DIR) + "/test/browser";
const std::string kSpec = std::string(PGSHIFT_SOURCE_DIR) + "/docs/openapi.yaml";

void WriteOwnerOnly(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), 0600);
}

class OpenApiDoc : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBrowserDir + "/node_modules/ajv") &&
                fs::exists(kBrowserDir + "/node_modules/yaml"))
        << "test/browser/node_modules is missing: run scripts/setup.sh (npm ci in test/browser)";
    store_ = dir_.path() + "/server.db";
    const std::string config = dir_.path() + "/server.ini";
    std::ofstream(config) << "[server]\nplatform_team = platform\n\n[team payments]\n\n"
                             "[team search]\n";
    WriteOwnerOnly(dir_.path() + "/superuser.pw", std::string(PgCluster::kPassword) + "\n");
    for (auto [who, team, platform] :
         {std::tuple{"platform", "platform", true}, std::tuple{"team", "payments", false},
          std::tuple{"other_team", "search", false}}) {
      std::string token = ServerProcess::CreateToken(store_, team, platform, who);
      ASSERT_FALSE(token.empty()) << who;
      WriteOwnerOnly(dir_.path() + "/" + who + ".token", token);
      tokens_[who] = token;
    }
    std::string why;
    server_ = ServerProcess::Start({.store_path = store_, .config_path = config}, &why);
    ASSERT_TRUE(server_) << why;
    payments_ = PgCluster::Primary();
    search_ = PgCluster::Primary();
    Register(Cluster("orders", "payments", *payments_));
    Register(Cluster("catalog", "search", *search_));
    CreateMigration("orders-1", "orders", "team");
    CreateMigration("catalog-1", "catalog", "other_team");
    // A campaign per team, so that the campaign GETs have something to answer (their clusters
    // each have a migration already: the campaigns halt, refused, and start nothing).
    for (const auto& [name, cluster, who] : {std::tuple{"orders-c", "orders", "team"},
                                             std::tuple{"catalog-c", "catalog", "other_team"}}) {
      auto r =
          server_->Post("/v1/campaigns", tokens_[who], {{"name", name}, {"clusters", {cluster}}});
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    for (const auto& d : targets_) {
      if (!fs::exists(d + "/PG_VERSION")) continue;
      auto t = LocalInstance::Attach(d, PgCluster::kPassword);
      if (t.ok()) (void)t->Stop(/*immediate=*/true);
    }
  }

  json Cluster(const std::string& name, const std::string& team, const PgCluster& source) {
    ConnInfo c = source.Conn();
    std::string target = dir_.path() + "/target-" + name;
    targets_.push_back(target);
    return {{"name", name},
            {"team", team},
            {"labels", {{"tier", "gold"}}},
            {"source",
             {{"conninfo", "host=" + c.Get("host") + " port=" + c.Get("port") +
                               " user=postgres dbname=postgres"},
              {"password", {{"file", dir_.path() + "/superuser.pw"}}},
              {"data_dir", source.data_dir()}}},
            {"target", {{"kind", "local"}, {"dir", target}}}};
  }
  void Register(const json& cluster) {
    auto r = server_->Post("/v1/clusters", tokens_["platform"], cluster);
    ASSERT_EQ(r.status, 201) << r.body;
  }
  void CreateMigration(const std::string& name, const std::string& cluster,
                       const std::string& who) {
    auto r =
        server_->Post("/v1/migrations", tokens_[who],
                      {{"name", name}, {"cluster", cluster}, {"options", {{"check_window_s", 1}}}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // Runs the check with `spec`; its exit code and output.
  CommandOutput Check(const std::string& spec) {
    json ctx = {
        {"base_url", server_->base_url()},
        {"tokens",
         {{"platform", dir_.path() + "/platform.token"},
          {"team", dir_.path() + "/team.token"},
          {"other_team", dir_.path() + "/other_team.token"}}},
        {"team", "payments"},
        {"other_team", "search"},
        {"clusters", {{"team", "orders"}, {"other_team", "catalog"}}},
        {"migrations", {{"team", "orders-1"}, {"other_team", "catalog-1"}}},
        {"campaigns", {{"team", "orders-c"}, {"other_team", "catalog-c"}}},
        {"posts",
         {{"new_cluster", Cluster("orders-b" + std::to_string(++checks_), "payments", *payments_)},
          {"new_migration",
           {{"name", "orders-b" + std::to_string(checks_) + "-1"},
            {"cluster", "orders-b" + std::to_string(checks_)},
            {"options", {{"check_window_s", 1}}}}}}}};
    const std::string ctx_path = dir_.path() + "/ctx.json";
    std::ofstream(ctx_path) << ctx.dump(2);
    auto out = RunCommand(
        {"node", kBrowserDir + "/openapi_check.mjs", "--spec", spec, "--context", ctx_path},
        {.cwd = kBrowserDir, .timeout = std::chrono::minutes(3)});
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    CommandOutput o = out.ok() ? *out : CommandOutput{};
    for (const auto& [who, token] : tokens_) {
      EXPECT_EQ(o.output.find(token), std::string::npos) << "the check printed a token";
    }
    return o;
  }

  // A copy of docs/openapi.yaml changed by `js` (a function body given `doc`).
  std::string MutatedSpec(const std::string& name, const std::string& js) {
    const std::string path = dir_.path() + "/" + name + ".yaml";
    const std::string script =
        "const fs = require('fs'); const YAML = require('yaml');"
        "const doc = YAML.parse(fs.readFileSync(process.argv[1], 'utf8'));" +
        js + "; fs.writeFileSync(process.argv[2], YAML.stringify(doc));";
    auto out = RunCommand({"node", "-e", script, kSpec, path}, {.cwd = kBrowserDir});
    EXPECT_TRUE(out.ok() && out->exit_code == 0) << (out.ok() ? out->output : "");
    return path;
  }

  TempDir dir_{"pgshift-openapi-it"};
  std::string store_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<PgCluster> payments_, search_;
  std::vector<std::string> targets_;
  int checks_ = 0;
};

TEST_F(OpenApiDoc, EveryAnswerMatchesTheDocumentedSchema) {
  auto out = Check(kSpec);
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("all as docs/openapi.yaml documents them"), std::string::npos)
      << out.output;
}

TEST_F(OpenApiDoc, TheCheckFailsOnABodyTheSchemaDoesNotAllow) {
  // /v1/health documented as carrying a field the server never sends.
  std::string spec = MutatedSpec(
      "required",
      R"(const s = doc.paths['/v1/health'].get.responses['200'].content['application/json'];
         s.schema = {type: 'object', required: ['status', 'not_a_field'], properties: {}})");
  auto out = Check(spec);
  EXPECT_EQ(out.exit_code, 1) << out.output;
  EXPECT_NE(out.output.find("GET /v1/health"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("not_a_field"), std::string::npos) << out.output;
}

TEST_F(OpenApiDoc, TheCheckFailsOnAnEndpointTheFileDoesNotDocument) {
  std::string spec = MutatedSpec("undocumented", "delete doc.paths['/v1/whoami']");
  auto out = Check(spec);
  EXPECT_EQ(out.exit_code, 1) << out.output;
  EXPECT_NE(out.output.find("GET /v1/whoami"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("does not document"), std::string::npos) << out.output;
}

}  // namespace
}  // namespace pgshift::testing
