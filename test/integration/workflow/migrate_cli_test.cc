// Bad input to `pgshift migrate`: a clear error naming what is wrong, a non-zero exit, no
// secret in the output, and nothing recorded.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fixture/migration_harness.h"

namespace pgshift::testing {
namespace {

class MigrateBadInput : public ::testing::Test {
 protected:
  MigrateBadInput() : h_({.load_clients = 0}) {}

  void ExpectRefused(const std::vector<std::string>& args, const std::string& says) {
    auto out = h_.Pgshift(args);
    EXPECT_EQ(out.exit_code, 2) << out.output;
    EXPECT_NE(out.output.find(says), std::string::npos) << out.output;
    EXPECT_EQ(out.output.find(PgCluster::kPassword), std::string::npos) << out.output;
    auto list = h_.Pgshift({"migrate", "list", "--json"});
    EXPECT_EQ(list.output, "[]\n") << "nothing may be recorded";
  }
  std::vector<std::string> StartArgs(const std::string& source) {
    return {"migrate", "start", "m1", "--source", source, "--create-target", h_.target_dir()};
  }
  MigrationHarness h_;
};

TEST_F(MigrateBadInput, MalformedSourceConninfo) {
  ExpectRefused(StartArgs("host=127.0.0.1 port"), "source: malformed connection string");
}

TEST_F(MigrateBadInput, WrongPassword) {
  ExpectRefused(StartArgs(h_.source().Conn().With("password", "nope-wrong").raw()),
                "authentication failed");
}

TEST_F(MigrateBadInput, NotASuperuser) {
  ExpectRefused(
      StartArgs(
          h_.source().ConnAs(MigrationHarness::kAppUser, MigrationHarness::kAppPassword).raw()),
      "is not a superuser");
}

TEST_F(MigrateBadInput, TargetThatIsNotAReplicaOfTheSource) {
  auto other = PgCluster::Primary();
  ExpectRefused({"migrate", "start", "m1", "--source", h_.source().ConnString(), "--target",
                 other->ConnString()},
                "is not a replica of");
}

TEST_F(MigrateBadInput, BothOrNeitherTarget) {
  ExpectRefused({"migrate", "start", "m1", "--source", h_.source().ConnString()},
                "exactly one of --target");
}

TEST_F(MigrateBadInput, TargetDirectoryInUse) {
  std::filesystem::create_directories(h_.target_dir());
  std::ofstream(h_.target_dir() + "/something") << "x";
  ExpectRefused(StartArgs(h_.source().ConnString()), "is not empty");
}

TEST_F(MigrateBadInput, BadName) {
  ExpectRefused({"migrate", "start", "no spaces", "--source", h_.source().ConnString(),
                 "--create-target", h_.target_dir()},
                "is not valid");
}

TEST_F(MigrateBadInput, UnknownMigration) {
  for (const char* verb : {"run", "status", "cutover", "rollback"}) {
    ExpectRefused({"migrate", verb, "nope"}, "no migration named 'nope'");
  }
}

TEST(MigrateUnreachable, SourceThatDoesNotAnswerIsNamed) {
  MigrationHarness h({.load_clients = 0});
  int port = h.source().port();
  ASSERT_TRUE(h.source().instance().Stop().ok());
  auto out = h.Pgshift({"migrate", "start", "m1", "--source",
                        "host=127.0.0.1 user=postgres port=" + std::to_string(port),
                        "--create-target", h.target_dir()});
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.output.find("source (127.0.0.1:" + std::to_string(port)), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("cannot reach"), std::string::npos) << out.output;
}

TEST(MigrateDuplicate, SecondStartWithTheSameNameIsRefused) {
  MigrationHarness h({.load_clients = 0});
  h.Start();
  auto out = h.Pgshift({"migrate", "start", "m1", "--source", h.source().ConnString(),
                        "--create-target", h.target_dir() + "-2"});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.output.find("already exists"), std::string::npos) << out.output;
}

}  // namespace
}  // namespace pgshift::testing
