// The web page in a real browser: Debian's chromium driven by playwright-core
// (test/browser/*.mjs, installed by scripts/setup.sh) against a real `pgshift server` on real
// local clusters. Each test registers what it needs through the API, then runs one browser
// script with the server's URL, a team token (in a file, never on a command line) and an
// output folder, and asserts the script's exit status and what it printed.
//
// Screenshots are kept after the test, in <build>/test-output/web/<test name>/ (the build
// folder holds the binary; the folder is emptied when the test starts); the test prints it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/process.h"
#include "fixture/pg_cluster.h"
#include "fixture/server_process.h"
#include "fixture/temp_dir.h"
#include "platform/local_instance.h"

namespace pgshift::testing {
namespace {

namespace fs = std::filesystem;

class WebPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        fs::exists(fs::path(PGSHIFT_SOURCE_DIR) / "test/browser/node_modules/playwright-core"))
        << "the browser tests' packages are missing: run scripts/setup.sh (make test does)";
    ASSERT_TRUE(fs::exists("/usr/bin/chromium")) << "chromium is missing: run scripts/setup.sh";
    store_ = dir_.path() + "/server.db";
    password_file_ = dir_.path() + "/superuser.pw";
    {
      std::ofstream pw(password_file_);
      pw << PgCluster::kPassword << "\n";
    }
    fs::permissions(password_file_, fs::perms::owner_read | fs::perms::owner_write);
    platform_token_ = ServerProcess::CreateToken(store_, "platform", /*platform=*/true, "ops");
    ASSERT_FALSE(platform_token_.empty());
    std::string why;
    server_ = ServerProcess::Start({.store_path = store_}, &why);
    ASSERT_NE(server_, nullptr) << why;
  }

  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    // The targets the server built run on after it: stop them.
    for (const std::string& target : targets_) {
      if (!fs::exists(target + "/PG_VERSION")) continue;
      auto instance = LocalInstance::Attach(target, PgCluster::kPassword);
      if (instance.ok()) (void)instance->Stop(/*immediate=*/true);
    }
  }

  // A token for `team`, written to a file the browser script reads.
  std::string TokenFile(const std::string& team) {
    std::string token = ServerProcess::CreateToken(store_, team, false, team + "-web");
    EXPECT_EQ(token.rfind("pgs_", 0), 0u) << token;
    std::string path = dir_.path() + "/" + team + ".token";
    std::ofstream(path) << token << "\n";
    chmod(path.c_str(), 0600);
    return path;
  }

  // Registers cluster `name` of `team` on `source` (its password by file reference) with a
  // local target.
  void Register(const std::string& name, const std::string& team, const PgCluster& source) {
    std::string target = dir_.path() + "/target-" + name;
    targets_.push_back(target);
    nlohmann::json cluster = {{"name", name},
                              {"team", team},
                              {"labels", {{"tier", "test"}}},
                              {"source",
                               {{"conninfo", source.Conn().Redacted()},
                                {"password", {{"file", password_file_}}},
                                {"data_dir", source.data_dir()}}},
                              {"target", {{"kind", "local"}, {"dir", target}}}};
    HttpResponse r = server_->Post("/v1/clusters", platform_token_, cluster);
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // Creates migration `migration` for cluster `name` through the API, with short windows.
  void Create(const std::string& name, const std::string& migration) {
    nlohmann::json create = {{"name", migration},
                             {"cluster", name},
                             {"options",
                              {{"check_window_s", 1},
                               {"fence_deadline_s", 5},
                               {"drain_timeout_s", 10},
                               {"cdc_timeout_s", 10}}}};
    HttpResponse r = server_->Post("/v1/migrations", platform_token_, create);
    ASSERT_EQ(r.status, 201) << r.body;
  }

  nlohmann::json Migration(const std::string& name) {
    return ServerProcess::Json(server_->Get("/v1/migrations/" + name, platform_token_));
  }

  // The screenshot folder of the running test, emptied.
  static std::string OutputFolder() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    fs::path out = fs::path(PGSHIFT_BINARY).parent_path() / "test-output/web" / info->name();
    fs::remove_all(out);
    fs::create_directories(out);
    return out.string();
  }

  // Runs `node test/browser/<script> --base-url ... --token-file ... --out ... args...`.
  CommandOutput RunBrowserScript(const std::string& script, const std::string& token_file,
                                 const std::string& out, const std::vector<std::string>& args) {
    std::string browser_dir = std::string(PGSHIFT_SOURCE_DIR) + "/test/browser";
    std::vector<std::string> argv = {"node",         browser_dir + "/" + script,
                                     "--base-url",   server_->base_url(),
                                     "--token-file", token_file,
                                     "--out",        out};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o;
    o.cwd = browser_dir;
    o.env = {{"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"}};
    o.timeout = std::chrono::minutes(4);
    auto result = RunCommand(argv, o);
    if (!result.ok()) return {-1, result.status().ToString()};
    // The steps and the screenshots' paths, once (the expectations below do not repeat them).
    std::printf("%s", result->output.c_str());
    std::printf("screenshots: %s\n", out.c_str());
    return *result;
  }

  static bool Says(const CommandOutput& o, const std::string& text) {
    return o.output.find(text) != std::string::npos;
  }

  TempDir dir_{"pgshift-web-it"};
  std::string store_, password_file_, platform_token_;
  std::vector<std::string> targets_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(WebPageTest, TeamDrivesAMigrationToCompletionFromThePage) {
  auto source = PgCluster::Primary();
  source->Sql(
      "CREATE TABLE orders (id serial PRIMARY KEY, note text);"
      "INSERT INTO orders (note) SELECT 'order ' || g FROM generate_series(1, 1000) g");
  ASSERT_NO_FATAL_FAILURE(Register("orders", "payments", *source));
  std::string token_file = TokenFile("payments");
  std::string out = OutputFolder();

  CommandOutput run = RunBrowserScript("drive_migration.mjs", token_file, out,
                                       {"--team", "payments", "--cluster", "orders", "--migration",
                                        "orders-1", "--check-window", "1"});

  EXPECT_EQ(run.exit_code, 0) << "server log:\n" << server_->Log();
  EXPECT_TRUE(Says(run, "drive_migration: start confirmed"));
  EXPECT_TRUE(Says(run, "drive_migration: cutover confirmed"));
  EXPECT_TRUE(Says(run, "drive_migration: phases seen: created"));
  EXPECT_TRUE(Says(run, "drive_migration: ok"));
  // The page's clicks did it: the server says completed, and the target has the rows.
  nlohmann::json m = Migration("orders-1");
  EXPECT_EQ(m.value("phase", ""), "completed") << m.dump(2);
  auto target = LocalInstance::Attach(targets_[0], PgCluster::kPassword);
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  auto rows = PgConnection::Connect(target->Conn());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  auto count = rows->QueryValue("SELECT count(*) FROM orders");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, "1000");
  // A screenshot at each step (numbered in the order taken: NN-label.png).
  for (const char* shot :
       {"-fleet-no-migration.png", "-new-migration-dialog.png", "-fleet-created.png",
        "-migration-created.png", "-start-confirmation.png", "-migration-ready-for-cutover.png",
        "-cutover-confirmation.png", "-migration-completed.png", "-fleet-tab-live-completed.png",
        "-fleet-completed.png"}) {
    bool found = false;
    for (const auto& f : fs::directory_iterator(out)) {
      found = found || f.path().filename().string().ends_with(shot);
    }
    EXPECT_TRUE(found) << "no screenshot *" << shot << " in " << out;
  }
  // The secret the cluster references appears nowhere the page could have shown.
  EXPECT_EQ(run.output.find(PgCluster::kPassword), std::string::npos);
}

TEST_F(WebPageTest, TeamRollsAMigrationBackFromThePage) {
  auto source = PgCluster::Primary();
  source->Sql("CREATE TABLE ledger (id serial PRIMARY KEY); INSERT INTO ledger DEFAULT VALUES");
  ASSERT_NO_FATAL_FAILURE(Register("ledger", "payments", *source));
  ASSERT_NO_FATAL_FAILURE(Create("ledger", "ledger-1"));
  std::string token_file = TokenFile("payments");
  std::string out = OutputFolder();

  CommandOutput run = RunBrowserScript("roll_back.mjs", token_file, out,
                                       {"--cluster", "ledger", "--migration", "ledger-1"});

  EXPECT_EQ(run.exit_code, 0) << "server log:\n" << server_->Log();
  EXPECT_TRUE(Says(run, "roll_back: rollback confirmed"));
  EXPECT_TRUE(Says(run, "roll_back: ok"));
  nlohmann::json m = Migration("ledger-1");
  EXPECT_EQ(m.value("phase", ""), "rolled_back") << m.dump(2);
  // The source is authoritative again: it takes writes.
  source->Sql("INSERT INTO ledger DEFAULT VALUES");
  EXPECT_EQ(source->Value("SELECT count(*) FROM ledger"), "2");
}

TEST_F(WebPageTest, AnotherTeamsMigrationIsNotVisible) {
  auto payments_source = PgCluster::Primary();
  auto search_source = PgCluster::Primary();
  ASSERT_NO_FATAL_FAILURE(Register("orders", "payments", *payments_source));
  ASSERT_NO_FATAL_FAILURE(Create("orders", "orders-1"));
  ASSERT_NO_FATAL_FAILURE(Register("catalog", "search", *search_source));
  ASSERT_NO_FATAL_FAILURE(Create("catalog", "catalog-1"));
  std::string token_file = TokenFile("payments");
  std::string out = OutputFolder();

  std::string platform_token_file = dir_.path() + "/platform.token";
  std::ofstream(platform_token_file) << platform_token_ << "\n";
  chmod(platform_token_file.c_str(), 0600);

  CommandOutput run =
      RunBrowserScript("other_team_hidden.mjs", token_file, out,
                       {"--own-cluster", "orders", "--own-migration", "orders-1", "--other-cluster",
                        "catalog", "--other-migration", "catalog-1", "--other-team", "search",
                        "--platform-token-file", platform_token_file});

  EXPECT_EQ(run.exit_code, 0) << "server log:\n" << server_->Log();
  EXPECT_TRUE(Says(run, "other_team_hidden: ok"));
  // The other team's migration is still there (hidden, not missing), untouched.
  nlohmann::json other = Migration("catalog-1");
  EXPECT_EQ(other.value("phase", ""), "created") << other.dump(2);
}

}  // namespace
}  // namespace pgshift::testing
