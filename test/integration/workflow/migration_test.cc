// Whole migrations of a live cluster through the real pgshift binary: completion under load,
// the operator's cutover gate, a cutover that cannot drain, and rollback after promotion.
#include <gtest/gtest.h>

#include "fixture/migration_harness.h"
#include "workflow/route_file.h"

namespace pgshift::testing {
namespace {

std::vector<std::string> PhaseNames(const nlohmann::json& status) {
  std::vector<std::string> out;
  for (const auto& p : status["phases"]) out.push_back(p["name"]);
  return out;
}

int RoutedPort(const MigrationHarness& h) { return ReadRouteFile(h.route_file())->endpoint.port; }

TEST(Migration, CompletesUnderLoadWithNothingLost) {
  MigrationHarness h;
  h.Start({"--auto-cutover"});
  auto run = h.Pgshift({"migrate", "run", "m1"});
  ASSERT_EQ(run.exit_code, 0) << run.output;

  auto s = h.Status();
  EXPECT_EQ(s["state"], "completed");
  EXPECT_EQ(s["phase"], "completed");
  std::vector<std::string> want = {
      "replicating", "validating", "ready_for_cutover", "pausing",   "fencing",
      "draining",    "promoting",  "slot_handover",     "switching", "verifying"};
  EXPECT_EQ(PhaseNames(s), want);
  EXPECT_TRUE(s["verify"]["data"]["mismatches"].empty()) << s["verify"].dump();
  EXPECT_GT(s["verify"]["data"]["tables_compared"].get<int>(), 0);

  PgConnection target = h.ConnectTarget();
  EXPECT_EQ(*target.QueryValue("SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(RoutedPort(h), std::stoi(h.TargetConn().Get("port")));
  EXPECT_EQ(h.StopLoadAndCountLost(h.TargetConn()), 0u);
  EXPECT_GT(h.LoadReport().commits, 0u);
  EXPECT_FALSE(h.AppCanWrite(h.source().Conn())) << "the old source must stay fenced";
  EXPECT_TRUE(h.AppCanWrite(h.TargetConn()));
}

TEST(Migration, WaitsAtTheGateUntilTheOperatorCutsOver) {
  MigrationHarness h;
  h.Start();
  auto run = h.Pgshift({"migrate", "run", "m1", "--no-wait"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(h.Status()["state"], "waiting_for_cutover");
  EXPECT_EQ(RoutedPort(h), h.source().port());
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));

  auto cut = h.Pgshift({"migrate", "cutover", "m1"});
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  EXPECT_EQ(h.Status()["state"], "completed");
  EXPECT_EQ(h.StopLoadAndCountLost(h.TargetConn()), 0u);
}

TEST(Migration, CutoverThatCannotDrainRollsBackWithTheSourceWritable) {
  MigrationHarness h;
  std::string hba_before = *h.source().instance().ReadHba();
  h.Start({"--drain-timeout", "2"});
  ASSERT_EQ(h.Pgshift({"migrate", "run", "m1", "--no-wait"}).exit_code, 0);
  // The target stops replaying: it can never reach the fenced final LSN.
  ASSERT_TRUE(h.ConnectTarget().Exec("SELECT pg_wal_replay_pause()").ok());

  auto cut = h.Pgshift({"migrate", "cutover", "m1"});
  EXPECT_NE(cut.exit_code, 0) << cut.output;
  auto s = h.Status();
  EXPECT_EQ(s["state"], "rolled_back");
  EXPECT_EQ(s["rollback_from"], "draining");
  EXPECT_NE(s["rollback_reason"].get<std::string>().find("drain"), std::string::npos);

  EXPECT_EQ(*h.source().instance().ReadHba(), hba_before);
  EXPECT_EQ(h.source().Value("SHOW default_transaction_read_only"), "off");
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));
  EXPECT_EQ(RoutedPort(h), h.source().port());
  EXPECT_EQ(h.StopLoadAndCountLost(h.source().Conn()), 0u);
}

TEST(Migration, RollbackAfterPromotionRoutesBackToTheSource) {
  MigrationHarness h;
  h.Start({"--auto-cutover"});
  auto crashed = h.Pgshift({"migrate", "run", "m1"}, {{"PGSHIFT_CRASH_AFTER", "verifying"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;
  EXPECT_EQ(RoutedPort(h), std::stoi(h.TargetConn().Get("port")));

  auto rb = h.Pgshift({"migrate", "rollback", "m1"});
  ASSERT_EQ(rb.exit_code, 0) << rb.output;
  EXPECT_EQ(h.Status()["state"], "rolled_back");
  EXPECT_EQ(RoutedPort(h), h.source().port());
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));
  EXPECT_FALSE(h.AppCanWrite(h.TargetConn())) << "the abandoned target must be fenced";
}

// A prepared transaction replays onto the target; the rollback's fence of the promoted target
// (SQL only, nothing blocks connections there) must not refuse on its account.
TEST(Migration, RollbackAfterPromotionWithAPreparedTransactionReturnsToTheSource) {
  MigrationHarness h({.load_clients = 2, .source_settings = {{"max_prepared_transactions", "5"}}});
  h.source().Sql("CREATE TABLE parked (i int)");
  h.source().Sql("BEGIN; INSERT INTO parked VALUES (1); PREPARE TRANSACTION 'parked-1'");
  h.Start({"--auto-cutover"});
  auto crashed = h.Pgshift({"migrate", "run", "m1"}, {{"PGSHIFT_CRASH_AFTER", "verifying"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;

  auto rb = h.Pgshift({"migrate", "rollback", "m1"});
  ASSERT_EQ(rb.exit_code, 0) << rb.output;
  EXPECT_EQ(h.Status()["state"], "rolled_back");
  EXPECT_EQ(RoutedPort(h), h.source().port());
  EXPECT_EQ(h.source().Value("SELECT string_agg(gid, ',') FROM pg_prepared_xacts"), "parked-1");
  h.source().Sql("COMMIT PREPARED 'parked-1'");
  EXPECT_EQ(h.source().Value("SELECT count(*) FROM parked"), "1");
}

// A logical slot cannot be created while a prepared transaction is open: the slot handover
// would hold the traffic until someone ended it. The cutover is refused before the pause.
TEST(Migration, PreparedTransactionWithLogicalSlotsStopsTheCutoverBeforeThePause) {
  MigrationHarness h({.load_clients = 2, .source_settings = {{"max_prepared_transactions", "5"}}});
  h.source().Sql("SELECT pg_create_logical_replication_slot('cdc_orders', 'test_decoding')");
  h.source().Sql("CREATE TABLE parked (i int)");
  h.source().Sql("BEGIN; INSERT INTO parked VALUES (1); PREPARE TRANSACTION 'parked-1'");
  h.Start({"--auto-cutover"});
  auto run = h.Pgshift({"migrate", "run", "m1"});
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("'parked-1'"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("COMMIT PREPARED or ROLLBACK PREPARED"), std::string::npos)
      << run.output;
  auto s = h.Status();
  EXPECT_EQ(s["state"], "rolled_back") << s.dump();
  EXPECT_EQ(RoutedPort(h), h.source().port());
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));
  EXPECT_EQ(h.StopLoadAndCountLost(h.source().Conn()), 0u);
  h.source().Sql("ROLLBACK PREPARED 'parked-1'");
  h.source().Sql("SELECT pg_drop_replication_slot('cdc_orders')");
}

TEST(Migration, RollbackKeepingTargetWritesRewindsTheOldSourceBehindIt) {
  MigrationHarness h({.load_clients = 0});
  h.Start({"--auto-cutover"});
  auto crashed = h.Pgshift({"migrate", "run", "m1"}, {{"PGSHIFT_CRASH_AFTER", "verifying"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;
  ASSERT_TRUE(h.ConnectTarget()
                  .Exec("CREATE TABLE written_on_target(x int); "
                        "INSERT INTO written_on_target VALUES (42)")
                  .ok());

  auto rb = h.Pgshift({"migrate", "rollback", "m1", "--keep-target-writes"});
  ASSERT_EQ(rb.exit_code, 0) << rb.output;
  EXPECT_EQ(h.Status()["state"], "rolled_back");
  EXPECT_EQ(h.source().Value("SELECT x FROM written_on_target"), "42");
  EXPECT_EQ(h.source().Value("SELECT pg_is_in_recovery()"), "f");
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));
  EXPECT_EQ(RoutedPort(h), h.source().port());
}

}  // namespace
}  // namespace pgshift::testing
