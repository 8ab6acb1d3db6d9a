// `pgshift --server URL ...`: the migrate and cluster commands through a real `pgshift server`
// with real PostgreSQL clusters. A cluster registered from a file, a migration started, run to
// completion and read back as text and JSON; another run to the gate (--no-wait) and rolled
// back; each team sees its own only; refused requests print the server's message with the
// field at fault and exit as the local commands do; a token is never taken from the command
// line, and the superuser's password (in a secret file) appears in no output.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "fixture/certificates.h"
#include "fixture/pg_cluster.h"
#include "fixture/server_process.h"
#include "fixture/temp_dir.h"
#include "platform/local_instance.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;

void WriteOwnerOnly(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), 0600);
}

class RemoteCli : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = dir_.path() + "/server.db";
    const std::string config = dir_.path() + "/server.ini";
    std::ofstream(config) << "[server]\nplatform_team = platform\n\n[team payments]\n\n"
                             "[team search]\n";
    WriteOwnerOnly(dir_.path() + "/superuser.pw", std::string(PgCluster::kPassword) + "\n");
    for (auto [team, platform] :
         {std::pair{"payments", false}, std::pair{"search", false}, std::pair{"platform", true}}) {
      std::string token = ServerProcess::CreateToken(store_, team, platform, team);
      ASSERT_FALSE(token.empty()) << team;
      WriteOwnerOnly(TokenFile(team), token + "\n");
    }
    std::string why;
    server_ = ServerProcess::Start({.store_path = store_, .config_path = config}, &why);
    ASSERT_TRUE(server_) << why;
    source_ = PgCluster::Primary();
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    for (const auto& d : targets_) {
      auto t = LocalInstance::Attach(d, PgCluster::kPassword);
      if (t.ok()) (void)t->Stop(/*immediate=*/true);
    }
  }

  std::string TokenFile(const std::string& team) const {
    return dir_.path() + "/" + team + ".token";
  }

  // `pgshift --server URL --token-file TEAM.token args...`; stdout and stderr together.
  CommandOutput Remote(const std::string& team, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {PGSHIFT_BINARY, "--server", server_->base_url()};
    if (!team.empty()) {
      argv.push_back("--token-file");
      argv.push_back(TokenFile(team));
    }
    argv.insert(argv.end(), args.begin(), args.end());
    auto out =
        RunCommand(argv, {.env = env, .cwd = dir_.path(), .timeout = std::chrono::minutes(4)});
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    CommandOutput o = out.ok() ? *out : CommandOutput{};
    EXPECT_EQ(o.output.find(PgCluster::kPassword), std::string::npos) << o.output;
    return o;
  }

  // A registration file for a cluster on the source, with a local target in a new directory.
  std::string ClusterFile(const std::string& name, const std::string& team) {
    ConnInfo c = source_->Conn();
    std::string target = dir_.path() + "/target-" + name;
    targets_.push_back(target);
    json reg = {{"name", name},
                {"team", team},
                {"labels", {{"tier", "gold"}}},
                {"source",
                 {{"conninfo", "host=" + c.Get("host") + " port=" + c.Get("port") +
                                   " user=postgres dbname=postgres"},
                  {"password", {{"file", dir_.path() + "/superuser.pw"}}},
                  {"data_dir", source_->data_dir()}}},
                {"target", {{"kind", "local"}, {"dir", target}}}};
    std::string path = dir_.path() + "/" + name + ".json";
    std::ofstream(path) << reg.dump(2);
    return path;
  }

  TempDir dir_{"pgshift-remote-cli"};
  std::string store_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<PgCluster> source_;
  std::vector<std::string> targets_;
};

TEST_F(RemoteCli, RegisterStartRunToCompletionAndRead) {
  auto reg =
      Remote("payments", {"cluster", "register", "--file", ClusterFile("orders", "payments")});
  ASSERT_EQ(reg.exit_code, 0) << reg.output;
  EXPECT_NE(reg.output.find("cluster orders registered for team payments"), std::string::npos)
      << reg.output;

  auto start = Remote(
      "payments", {"migrate", "start", "orders-1", "--cluster", "orders", "--check-window", "1"});
  ASSERT_EQ(start.exit_code, 0) << start.output;
  EXPECT_NE(start.output.find("migration orders-1 recorded for cluster orders"), std::string::npos)
      << start.output;

  // The server drives it; the command follows, showing each transition like the local run.
  auto run = Remote("payments", {"migrate", "run", "orders-1", "--auto-cutover"});
  ASSERT_EQ(run.exit_code, 0) << run.output << server_->Log();
  EXPECT_NE(run.output.find("created -> replicating"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("verifying -> completed"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("migration orders-1: completed"), std::string::npos) << run.output;

  auto status = Remote("payments", {"migrate", "status", "orders-1", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  json s = json::parse(status.output);
  EXPECT_EQ(s["phase"], "completed");
  EXPECT_EQ(s["cluster"], "orders");
  EXPECT_EQ(s["team"], "payments");

  auto text = Remote("payments", {"migrate", "status", "orders-1"});
  EXPECT_NE(text.output.find("migration orders-1: completed"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("check connectivity"), std::string::npos) << text.output;

  // Each team sees its own; the platform sees all.
  auto mine = Remote("payments", {"migrate", "list", "--json"});
  ASSERT_EQ(mine.exit_code, 0) << mine.output;
  EXPECT_EQ(json::parse(mine.output).size(), 1u) << mine.output;
  auto theirs = Remote("search", {"migrate", "list", "--json"});
  ASSERT_EQ(theirs.exit_code, 0) << theirs.output;
  EXPECT_EQ(json::parse(theirs.output).size(), 0u) << theirs.output;
  auto all = Remote("platform", {"migrate", "list"});
  EXPECT_NE(all.output.find("orders-1  completed"), std::string::npos) << all.output;
  auto clusters = Remote("platform", {"cluster", "list"});
  EXPECT_NE(clusters.output.find("orders  team payments  migration orders-1: completed"),
            std::string::npos)
      << clusters.output;
  // Another team's migration is not found (404), as a missing one is.
  auto hidden = Remote("search", {"migrate", "status", "orders-1"});
  EXPECT_EQ(hidden.exit_code, 2) << hidden.output;
  EXPECT_NE(hidden.output.find("pgshift: error: "), std::string::npos) << hidden.output;

  // Finished: nothing to cut over or roll back (exit 2, as the local commands).
  auto again = Remote("payments", {"migrate", "rollback", "orders-1"});
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("pgshift: error: "), std::string::npos) << again.output;
}

TEST_F(RemoteCli, RunToTheGateThenRollBack) {
  ASSERT_EQ(Remote("payments", {"cluster", "register", "--file", ClusterFile("ledger", "payments")})
                .exit_code,
            0);
  ASSERT_EQ(Remote("payments",
                   {"migrate", "start", "ledger-1", "--cluster", "ledger", "--check-window", "1"})
                .exit_code,
            0);
  auto run = Remote("payments", {"migrate", "run", "ledger-1", "--no-wait", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output << server_->Log();
  // JSON lines of progress, then the migration's JSON.
  EXPECT_NE(run.output.find(R"("event":"transition")"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(R"("to":"ready_for_cutover")"), std::string::npos) << run.output;

  auto rollback = Remote("payments", {"migrate", "rollback", "ledger-1"});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.output << server_->Log();
  EXPECT_NE(rollback.output.find("migration ledger-1: rolled_back"), std::string::npos)
      << rollback.output;
  // The source takes writes again.
  source_->Sql("CREATE TABLE after_rollback (id int)");
}

// A migration that failed is run again like the local `migrate run` does: judged again, not
// reported failed from its old phase.
TEST_F(RemoteCli, RunJudgesAFailedMigrationAgain) {
  ASSERT_EQ(Remote("payments", {"cluster", "register", "--file", ClusterFile("orders", "payments")})
                .exit_code,
            0);
  ASSERT_EQ(Remote("payments", {"migrate", "start", "orders-f", "--cluster", "orders",
                                "--check-window", "1", "--validate-timeout", "5"})
                .exit_code,
            0);
  // The source away while the server drives it: the migration fails.
  ASSERT_TRUE(source_->instance().Stop().ok());
  auto failed = Remote("payments", {"migrate", "run", "orders-f", "--no-wait"});
  ASSERT_EQ(failed.exit_code, 1) << failed.output << server_->Log();
  EXPECT_NE(failed.output.find("migration orders-f: failed"), std::string::npos) << failed.output;
  // Back again: run re-judges it and reaches the gate.
  ASSERT_TRUE(source_->instance().Start().ok());
  auto again = Remote("payments", {"migrate", "run", "orders-f", "--no-wait"});
  EXPECT_EQ(again.exit_code, 0) << again.output << server_->Log();
  EXPECT_NE(again.output.find("migration orders-f: ready_for_cutover"), std::string::npos)
      << again.output;
}

TEST_F(RemoteCli, CancelGivesAMigrationUpBeforeItsCutover) {
  ASSERT_EQ(Remote("payments", {"cluster", "register", "--file", ClusterFile("orders", "payments")})
                .exit_code,
            0);
  ASSERT_EQ(Remote("payments", {"migrate", "start", "orders-c", "--cluster", "orders"}).exit_code,
            0);
  auto cancel = Remote("payments", {"migrate", "cancel", "orders-c", "--json"});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.output << server_->Log();
  EXPECT_EQ(json::parse(cancel.output).value("name", ""), "orders-c") << cancel.output;
  // Another team cannot, and learns nothing: not found.
  auto other = Remote("search", {"migrate", "cancel", "orders-c"});
  EXPECT_EQ(other.exit_code, 2) << other.output;
  EXPECT_EQ(Remote("payments", {"migrate", "cancel", "nope"}).exit_code, 2);
}

TEST_F(RemoteCli, RefusedRequestsNameTheFieldAndExitLikeTheLocalCommands) {
  // A conninfo holding a password: refused, the field named, the password never echoed.
  std::string file = ClusterFile("orders", "payments");
  json reg = json::parse(std::ifstream(file));
  reg["source"]["conninfo"] =
      reg["source"]["conninfo"].get<std::string>() + " password=" + PgCluster::kPassword;
  std::ofstream(file) << reg.dump();
  auto bad = Remote("payments", {"cluster", "register", "--file", file});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("pgshift: error: "), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("(field: source.conninfo)"), std::string::npos) << bad.output;

  // Registering for another team: refused.
  auto other = Remote("payments", {"cluster", "register", "--file", ClusterFile("x", "search")});
  EXPECT_EQ(other.exit_code, 2) << other.output;

  // An unknown cluster.
  auto unknown = Remote("payments", {"migrate", "start", "m", "--cluster", "nope"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("(field: cluster)"), std::string::npos) << unknown.output;

  // Local-only flags are explained, not silently ignored.
  auto local = Remote(
      "payments", {"migrate", "start", "m", "--cluster", "orders", "--source", "host=127.0.0.1"});
  EXPECT_EQ(local.exit_code, 2) << local.output;
  EXPECT_NE(local.output.find("cluster register"), std::string::npos) << local.output;

  // No token: 401 with advice; a token on the command line: refused before anything is sent.
  auto anonymous = Remote("", {"migrate", "list"});
  EXPECT_EQ(anonymous.exit_code, 2) << anonymous.output;
  EXPECT_NE(anonymous.output.find("--token-file"), std::string::npos) << anonymous.output;
  auto argument = Remote("", {"--token", "pgs_whatever", "migrate", "list"});
  EXPECT_EQ(argument.exit_code, 2) << argument.output;
  EXPECT_NE(argument.output.find("visible to every local user"), std::string::npos)
      << argument.output;

  // The token file from the environment works like --token-file.
  auto env =
      Remote("", {"migrate", "list", "--json"}, {{"PGSHIFT_TOKEN_FILE", TokenFile("payments")}});
  EXPECT_EQ(env.exit_code, 0) << env.output;
  EXPECT_EQ(env.output, "[]\n");

  // A server that is not there: exit 1 (like a migration that could not run), named.
  auto gone = RunCommand({PGSHIFT_BINARY, "--server", "http://127.0.0.1:1", "--token-file",
                          TokenFile("payments"), "migrate", "list"});
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->exit_code, 1) << gone->output;
  EXPECT_NE(gone->output.find("cannot reach the pgshift server at http://127.0.0.1:1"),
            std::string::npos)
      << gone->output;

  // Nothing was recorded by any refused request.
  auto list = Remote("platform", {"cluster", "list", "--json"});
  EXPECT_EQ(list.output, "[]\n") << list.output;
  auto campaigns = Remote("platform", {"campaign", "list"});
  EXPECT_EQ(campaigns.exit_code, 0) << campaigns.output;
  EXPECT_NE(campaigns.output.find("no campaigns on http://"), std::string::npos)
      << campaigns.output;
}

TEST_F(RemoteCli, WithoutServerTheLocalCommandsAreUnchanged) {
  // The embedded store in the working directory, as before: no server involved.
  auto out = RunCommand({PGSHIFT_BINARY, "--store", dir_.path() + "/local.db", "migrate", "list"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->exit_code, 0) << out->output;
  EXPECT_NE(out->output.find("no migrations in " + dir_.path() + "/local.db"), std::string::npos)
      << out->output;
  // `slots list --server CONNINFO` keeps its own --server.
  auto slots =
      RunCommand({PGSHIFT_BINARY, "slots", "list", "--server", source_->ConnString(), "--json"});
  ASSERT_TRUE(slots.ok());
  EXPECT_EQ(slots->exit_code, 0) << slots->output;
  // A cluster command without --server says what it needs.
  auto cluster = RunCommand({PGSHIFT_BINARY, "cluster", "list"});
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(cluster->exit_code, 2);
  EXPECT_NE(cluster->output.find("--server URL"), std::string::npos) << cluster->output;
  auto campaign = RunCommand({PGSHIFT_BINARY, "campaign", "list"});
  ASSERT_TRUE(campaign.ok());
  EXPECT_EQ(campaign->exit_code, 2);
  EXPECT_NE(campaign->output.find("campaigns run on a pgshift server: give --server URL"),
            std::string::npos)
      << campaign->output;
}

// An https:// server: the CLI verifies it against --ca-file, and refuses to go without one.
TEST(RemoteCliTls, HttpsServerVerifiedAgainstTheCaFile) {
  TempDir dir("pgshift-remote-cli-tls");
  TestPki pki;
  const std::string store = dir.path() + "/server.db";
  const std::string config = dir.path() + "/server.ini";
  std::ofstream(config) << "[server]\nplatform_team = platform\ntls_cert_file = "
                        << pki.server_cert() << "\ntls_key_file = " << pki.server_key() << "\n";
  std::string token = ServerProcess::CreateToken(store, "payments", false, "payments");
  ASSERT_FALSE(token.empty());
  WriteOwnerOnly(dir.path() + "/token", token);
  std::string why;
  auto server = ServerProcess::Start(
      {.store_path = store, .config_path = config, .tls_ca_file = pki.ca_cert()}, &why);
  ASSERT_TRUE(server) << why;
  ASSERT_EQ(server->base_url().rfind("https://", 0), 0u) << server->base_url();
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {PGSHIFT_BINARY, "--server", server->base_url(), "--token-file",
                                     dir.path() + "/token"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto out = RunCommand(argv);
    EXPECT_TRUE(out.ok());
    return out.ok() ? *out : CommandOutput{};
  };
  auto ok = run({"--ca-file", pki.ca_cert(), "migrate", "list", "--json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(ok.output, "[]\n");
  auto without = run({"migrate", "list"});
  EXPECT_EQ(without.exit_code, 2) << without.output;
  EXPECT_NE(without.output.find("--ca-file"), std::string::npos) << without.output;
  // A CA that did not sign the server's certificate: the connection is refused.
  TestPki other;
  auto wrong = run({"--ca-file", other.ca_cert(), "migrate", "list"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("cannot reach the pgshift server"), std::string::npos)
      << wrong.output;
  EXPECT_EQ(server->Stop(), 0) << server->Log();
}

}  // namespace
}  // namespace pgshift::testing
