// I5: kill -9 of `pgshift migrate run` right after each phase is recorded, then run again:
// the migration completes (or, when asked, rolls back) with nothing lost and no split brain.
#include <gtest/gtest.h>

#include "fixture/migration_harness.h"

namespace pgshift::testing {
namespace {

class KilledAfter : public ::testing::TestWithParam<std::string> {};

TEST_P(KilledAfter, RunAgainCompletes) {
  MigrationHarness h;
  h.Start({"--auto-cutover"});
  auto crashed = h.Pgshift({"migrate", "run", "m1"}, {{"PGSHIFT_CRASH_AFTER", GetParam()}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;
  ASSERT_EQ(h.Status()["phase"], GetParam());

  auto resumed = h.Pgshift({"migrate", "run", "m1"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(h.Status()["state"], "completed");
  EXPECT_EQ(h.StopLoadAndCountLost(h.TargetConn()), 0u);
  EXPECT_FALSE(h.AppCanWrite(h.source().Conn()));
  EXPECT_TRUE(h.AppCanWrite(h.TargetConn()));
}

INSTANTIATE_TEST_SUITE_P(EveryPhase, KilledAfter,
                         ::testing::Values("replicating", "validating", "ready_for_cutover",
                                           "pausing", "fencing", "draining", "promoting",
                                           "slot_handover", "switching", "verifying"));

class KilledMidCutover : public ::testing::TestWithParam<std::string> {};

TEST_P(KilledMidCutover, RollbackRestoresTheSource) {
  MigrationHarness h;
  h.Start({"--auto-cutover"});
  auto crashed = h.Pgshift({"migrate", "run", "m1"}, {{"PGSHIFT_CRASH_AFTER", GetParam()}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;

  auto rb = h.Pgshift({"migrate", "rollback", "m1"});
  ASSERT_EQ(rb.exit_code, 0) << rb.output;
  EXPECT_EQ(h.Status()["state"], "rolled_back");
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));
  EXPECT_EQ(h.StopLoadAndCountLost(h.source().Conn()), 0u);
}

INSTANTIATE_TEST_SUITE_P(CutoverPhases, KilledMidCutover,
                         ::testing::Values("pausing", "fencing", "draining"));

}  // namespace
}  // namespace pgshift::testing
