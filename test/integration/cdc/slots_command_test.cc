// `pgshift slots` through the built binary against a real server.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/process.h"
#include "fixture/pg_cluster.h"

namespace pgshift {
namespace {

using testing::PgCluster;

CommandOutput Pgshift(std::vector<std::string> args) {
  args.insert(args.begin(), PGSHIFT_BINARY);
  auto out = RunCommand(args);  // stdin is /dev/null: not a terminal
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : CommandOutput{};
}

std::string SlotNames(const PgCluster& pg) {
  return pg.Value(
      "SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), '') "
      "FROM pg_replication_slots");
}

class SlotsCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PgCluster::Primary();
    pg_->Sql("SELECT pg_create_logical_replication_slot('stale_cdc', 'test_decoding')");
    pg_->Sql("SELECT pg_create_physical_replication_slot('old_standby', true)");
    // Some WAL for the slots to hold back.
    pg_->Sql(
        "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad "
        "FROM generate_series(1, 20000) g");
  }
  // The server's conninfo with the password in a password file, as the README advises: a
  // password on the command line earns a warning on stderr, which RunCommand merges into the
  // output that a --json run must keep to one JSON object.
  std::string ServerWithPassfile() {
    std::string passfile = dir_.path() + "/pgpass";
    std::ofstream(passfile) << "127.0.0.1:*:*:postgres:" << PgCluster::kPassword << "\n";
    chmod(passfile.c_str(), 0600);
    return "host=127.0.0.1 port=" + std::to_string(pg_->port()) +
           " user=postgres dbname=postgres passfile=" + passfile;
  }
  std::unique_ptr<PgCluster> pg_;
  testing::TempDir dir_{"pgshift-slots"};
};

TEST_F(SlotsCommand, ListShowsEachSlotWithTheWalItRetains) {
  CommandOutput out = Pgshift({"slots", "list", "--server", pg_->ConnString()});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("stale_cdc"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("old_standby"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("test_decoding"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("reserved"), std::string::npos) << out.output;
  EXPECT_EQ(out.output.find(PgCluster::kPassword), std::string::npos);

  CommandOutput js = Pgshift({"slots", "list", "--server", ServerWithPassfile(), "--json"});
  ASSERT_EQ(js.exit_code, 0) << js.output;
  EXPECT_EQ(js.output.find(PgCluster::kPassword), std::string::npos);
  auto j = nlohmann::json::parse(js.output);
  ASSERT_EQ(j["slots"].size(), 2u);
  for (const auto& s : j["slots"]) {
    EXPECT_GT(s["retained_wal_bytes"].get<int64_t>(), 1000000) << s.dump();  // the filler
    EXPECT_EQ(s["active"], false);
  }
  EXPECT_EQ(j["slots"][0]["name"], "old_standby");
  EXPECT_EQ(j["slots"][0]["type"], "physical");
  EXPECT_EQ(j["slots"][1]["plugin"], "test_decoding");
}

TEST_F(SlotsCommand, DropWithoutATerminalOrYesRefusesAndDropsNothing) {
  CommandOutput out = Pgshift({"slots", "drop", "--server", pg_->ConnString(), "stale_cdc"});
  EXPECT_EQ(out.exit_code, 2) << out.output;
  EXPECT_NE(out.output.find("--yes"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("retains"), std::string::npos) << out.output;
  EXPECT_EQ(SlotNames(*pg_), "old_standby,stale_cdc");
}

// Runs `pgshift slots drop stale_cdc` on a pseudo-terminal (util-linux script) answering
// `answer` to the confirmation prompt.
CommandOutput DropOnTerminal(const PgCluster& pg, const std::string& answer) {
  testing::TempDir dir("pgshift-slots-tty");
  std::string run = dir.path() + "/run.sh";
  {
    std::ofstream f(run);
    f << "#!/bin/sh\nexec " << PGSHIFT_BINARY << " slots drop --server \"$SERVER\" stale_cdc\n";
  }
  chmod(run.c_str(), 0755);
  ProcessOptions po;
  po.env["SERVER"] = pg.ConnString();
  auto out = RunCommand(
      {"/bin/sh", "-c", "printf '" + answer + "\\n' | script -qec " + run + " /dev/null"}, po);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : CommandOutput{};
}

TEST_F(SlotsCommand, DropOnATerminalAsksAndDropsOnlyWhenConfirmed) {
  CommandOutput no = DropOnTerminal(*pg_, "no");
  EXPECT_NE(no.exit_code, 0) << no.output;
  EXPECT_NE(no.output.find("Type 'yes' to confirm"), std::string::npos) << no.output;
  EXPECT_NE(no.output.find("nothing was dropped"), std::string::npos) << no.output;
  EXPECT_EQ(SlotNames(*pg_), "old_standby,stale_cdc");

  CommandOutput yes = DropOnTerminal(*pg_, "yes");
  EXPECT_EQ(yes.exit_code, 0) << yes.output;
  EXPECT_NE(yes.output.find("dropped stale_cdc"), std::string::npos) << yes.output;
  EXPECT_EQ(SlotNames(*pg_), "old_standby");
}

TEST_F(SlotsCommand, DropWithYesDropsOnlyTheNamedSlots) {
  CommandOutput out =
      Pgshift({"slots", "drop", "--server", pg_->ConnString(), "stale_cdc", "--yes"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("dropped stale_cdc"), std::string::npos) << out.output;
  EXPECT_EQ(SlotNames(*pg_), "old_standby");
}

TEST_F(SlotsCommand, BadInputIsAClearErrorAndChangesNothing) {
  CommandOutput unknown = Pgshift(
      {"slots", "drop", "--server", pg_->ConnString(), "stale_cdc", "no_such_slot", "--yes"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("no replication slot named 'no_such_slot'"), std::string::npos)
      << unknown.output;

  CommandOutput bad_name =
      Pgshift({"slots", "drop", "--server", pg_->ConnString(), "Bad-Name", "--yes"});
  EXPECT_EQ(bad_name.exit_code, 2) << bad_name.output;
  EXPECT_NE(bad_name.output.find("not a replication slot name"), std::string::npos);

  CommandOutput bad_conn = Pgshift({"slots", "list", "--server", "host=127.0.0.1 port"});
  EXPECT_EQ(bad_conn.exit_code, 2) << bad_conn.output;
  EXPECT_NE(bad_conn.output.find("server: malformed"), std::string::npos) << bad_conn.output;

  CommandOutput wrong_pw = Pgshift(
      {"slots", "list", "--server", pg_->Conn().With("password", "wrong-secret-123").raw()});
  EXPECT_NE(wrong_pw.exit_code, 0);
  EXPECT_EQ(wrong_pw.output.find("wrong-secret-123"), std::string::npos) << wrong_pw.output;
  EXPECT_EQ(SlotNames(*pg_), "old_standby,stale_cdc");
}

}  // namespace
}  // namespace pgshift
