// `pgshift check` as an operator runs it: the built binary, its exit codes, its JSON on
// stdout, and no password anywhere in what it prints.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/process.h"
#include "fixture/pg_cluster.h"
#include "platform/port_reservation.h"

namespace pgshift {
namespace {

using testing::PgCluster;
using testing::TempDir;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs pgshift with stdout and stderr kept apart (through sh, whose only job is the redirect).
CliRun Pgshift(std::vector<std::string> args) {
  TempDir dir("pgshift-cli");
  std::string err_path = dir.path() + "/stderr";
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>" + err_path,
                                   PGSHIFT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv);
  CliRun run;
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return run;
  }
  run.exit_code = r->exit_code;
  run.out = r->output;
  std::stringstream ss;
  ss << std::ifstream(err_path).rdbuf();
  run.err = ss.str();
  return run;
}

bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(PgshiftCheck, HealthyReplicaExitsZeroWithOneJsonObject) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  CliRun run = Pgshift({"check", "--source", source->ConnString(), "--target", target->ConnString(),
                        "--json", "--window", "1"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  nlohmann::json j = nlohmann::json::parse(run.out);  // stdout holds the object and nothing else
  EXPECT_EQ(j["summary"]["fail"], 0) << run.out;
  EXPECT_EQ(j["summary"]["total"], j["checks"].size());
  for (const auto& c : j["checks"]) {
    EXPECT_TRUE(c.contains("name") && c.contains("verdict") && c.contains("evidence") &&
                c.contains("advice") && c.contains("query"))
        << c.dump();
  }
  EXPECT_FALSE(Contains(run.out + run.err, PgCluster::kPassword));
}

TEST(PgshiftCheck, TableNamesEachCheck) {
  auto source = PgCluster::Primary();
  auto other = PgCluster::Primary();  // not a replica: replica_identity fails
  CliRun run = Pgshift({"check", "--source", source->ConnString(), "--target", other->ConnString(),
                        "--window", "0.5"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "FAIL  replica_identity")) << run.out;
  EXPECT_TRUE(Contains(run.out, "PASS  major_version")) << run.out;
  EXPECT_TRUE(Contains(run.err, "pgshift: error: checks failed: replica_identity")) << run.err;
  EXPECT_FALSE(Contains(run.out + run.err, PgCluster::kPassword));
}

TEST(PgshiftCheck, MalformedConninfoExitsTwoNamingTheEndpoint) {
  CliRun run = Pgshift({"check", "--source", "host=127.0.0.1 password=src-secret-1 port=1",
                        "--target", "host=127.0.0.1 port"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "target: malformed connection string")) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_FALSE(Contains(run.out + run.err, "src-secret-1"));
}

TEST(PgshiftCheck, WrongPasswordExitsOneNamingTheTargetWithoutTheSecret) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  std::string wrong = target->Conn().With("password", "guessed-wrong-789").raw();
  CliRun run = Pgshift({"check", "--source", source->ConnString(), "--target", wrong, "--json"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  nlohmann::json j = nlohmann::json::parse(run.out);
  ASSERT_EQ(j["checks"][0]["name"], "connectivity");
  EXPECT_EQ(j["checks"][0]["verdict"], "fail");
  EXPECT_EQ(j["checks"][0]["evidence"]["target"]["code"], "unauthenticated");
  EXPECT_TRUE(Contains(j["checks"][0]["evidence"]["target"]["error"], "target ("));
  EXPECT_FALSE(Contains(run.out + run.err, "guessed-wrong-789"));
  EXPECT_FALSE(Contains(run.out + run.err, PgCluster::kPassword));
}

TEST(PgshiftCheck, UnreachableSourceExitsOneNamingTheSource) {
  auto target = PgCluster::Primary();
  auto port = ReservePort();
  ASSERT_TRUE(port.ok());
  CliRun run = Pgshift({"check", "--source",
                        "host=127.0.0.1 port=" + std::to_string(*port) +
                            " user=postgres password=unreached-pw connect_timeout=2",
                        "--target", target->ConnString()});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "FAIL  connectivity")) << run.out;
  EXPECT_TRUE(Contains(run.out, "source: check host and port")) << run.out;
  EXPECT_FALSE(Contains(run.out + run.err, "unreached-pw"));
}

// A password inside --source is on the command line, which every local user can read in `ps`:
// pgshift warns (without echoing it) and points at a password file, which works as libpq's
// `passfile` so nothing secret needs to be on the command line at all.
TEST(PgshiftCheck, APasswordOnTheCommandLineIsWarnedAboutAndAPasswordFileServesInstead) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  CliRun warned = Pgshift({"check", "--source", source->ConnString(), "--target",
                           target->ConnString(), "--window", "1"});
  EXPECT_TRUE(Contains(warned.err, "the password in --source is visible to every local user"))
      << warned.err;
  EXPECT_TRUE(Contains(warned.err, "passfile=FILE")) << warned.err;
  EXPECT_FALSE(Contains(warned.out + warned.err, PgCluster::kPassword));

  TempDir dir("pgshift-passfile");
  std::string passfile = dir.path() + "/pgpass";
  std::ofstream(passfile) << "127.0.0.1:*:*:postgres:" << PgCluster::kPassword << "\n";
  std::filesystem::permissions(passfile, std::filesystem::perms(0600));
  auto without_password = [&](const PgCluster& c) {
    return "host=127.0.0.1 port=" + std::to_string(c.port()) +
           " user=postgres dbname=postgres passfile=" + passfile;
  };
  CliRun quiet = Pgshift({"check", "--source", without_password(*source), "--target",
                          without_password(*target), "--window", "1"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.out << quiet.err;
  EXPECT_FALSE(Contains(quiet.err, "visible to every local user")) << quiet.err;
}

}  // namespace
}  // namespace pgshift
