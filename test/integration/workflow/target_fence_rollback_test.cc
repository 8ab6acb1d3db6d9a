// The target fence (I8) leaves nothing behind: pgshift is killed (kill -9) right after the
// promotion is recorded, or after the slots are, with the target fenced; then the operator
// rolls back, or runs the migration again. Either way no layer of the target fence is left on
// the target (pg_hba.conf, the marker) and no fence on the surviving primary.
#include <gtest/gtest.h>

#include <filesystem>

#include "fixture/migration_harness.h"
#include "platform/data_dir_files.h"
#include "platform/hba_fence.h"
#include "store/sqlite_store.h"

namespace pgshift::testing {
namespace {

std::string Marker(PgConnection& c) {
  auto v = c.QueryValue("SELECT coalesce(current_setting('pgshift.target_fence', true), '')");
  return v.ok() ? *v : "error: " + v.status().ToString();
}

bool HbaFenced(const std::string& data_dir) {
  auto text = ReadTextFile(data_dir + "/pg_hba.conf");
  return !text.ok() || text->rfind(kHbaFenceMarker, 0) == 0 ||
         std::filesystem::exists(data_dir + "/" + kHbaBackupName);
}

// The fact the steps keep (not shown by `migrate status`): read from the store itself.
bool TargetFencedFact(MigrationHarness& h) {
  auto store = SqliteStore::Open(h.store_path());
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  auto r = (*store)->Get(MigrationHarness::kName);
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return r->data.is_object() && r->data.value("target_fenced", false);
}

class KilledWithTheTargetFenced : public ::testing::TestWithParam<std::string> {};

TEST_P(KilledWithTheTargetFenced, RollbackLeavesNoFenceOnEitherSide) {
  MigrationHarness h;
  h.Start({"--auto-cutover"});
  auto crashed = h.Pgshift({"migrate", "run", "m1"}, {{"PGSHIFT_CRASH_AFTER", GetParam()}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;
  EXPECT_TRUE(TargetFencedFact(h)) << h.Status().dump();
  EXPECT_TRUE(HbaFenced(h.target_dir())) << "the crash came after the target fence was set";

  auto rb = h.Pgshift({"migrate", "rollback", "m1"});
  ASSERT_EQ(rb.exit_code, 0) << rb.output;
  EXPECT_EQ(h.Status()["state"], "rolled_back");
  EXPECT_FALSE(TargetFencedFact(h));
  // The target: no pg_hba layer, no marker (its read-only stays: the rollback's own fence of
  // the promoted target it abandons, against split brain).
  EXPECT_FALSE(HbaFenced(h.target_dir()));
  PgConnection target = h.ConnectTarget();
  EXPECT_EQ(Marker(target), "");
  // The surviving primary: writable by the application, no fence of any kind.
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));
  EXPECT_EQ(h.source().Value("SHOW default_transaction_read_only"), "off");
  EXPECT_EQ(h.source().Value("SELECT coalesce(current_setting('pgshift.target_fence', true), "
                             "'')"),
            "");
  EXPECT_FALSE(HbaFenced(h.source().data_dir()));
  EXPECT_EQ(h.StopLoadAndCountLost(h.source().Conn()), 0u);
}

TEST_P(KilledWithTheTargetFenced, RunAgainCompletesAndLiftsIt) {
  MigrationHarness h;
  h.Start({"--auto-cutover"});
  auto crashed = h.Pgshift({"migrate", "run", "m1"}, {{"PGSHIFT_CRASH_AFTER", GetParam()}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;

  auto resumed = h.Pgshift({"migrate", "run", "m1"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(h.Status()["state"], "completed");
  EXPECT_FALSE(TargetFencedFact(h));
  EXPECT_FALSE(HbaFenced(h.target_dir()));
  PgConnection target = h.ConnectTarget();
  EXPECT_EQ(Marker(target), "");
  EXPECT_EQ(*target.QueryValue("SHOW default_transaction_read_only"), "off");
  EXPECT_TRUE(h.AppCanWrite(h.TargetConn()));
  EXPECT_EQ(h.StopLoadAndCountLost(h.TargetConn()), 0u);
}

INSTANTIATE_TEST_SUITE_P(AfterThePromotion, KilledWithTheTargetFenced,
                         ::testing::Values("slot_handover", "switching"));

}  // namespace
}  // namespace pgshift::testing
