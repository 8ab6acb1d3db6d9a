// CdcConsumer (a real pg_recvlogical) against real servers: what it received checks out
// against the writers' acknowledged commits, across a restart; and the check can fail.
#include "demo/cdc_consumer.h"

#include <gtest/gtest.h>

#include <thread>

#include "cdc/logical_slot.h"
#include "cdc/slot_handover.h"
#include "common/clock.h"
#include "demo/commit_checker.h"
#include "fixture/pg_cluster.h"

namespace pgshift::demo {
namespace {

using pgshift::testing::PgCluster;
using pgshift::testing::TempDir;

void WaitForCommits(const CommitChecker& c, uint64_t at_least) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (c.report().commits < at_least) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "stuck at " << c.report().commits;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Waits until the consumer confirmed everything written so far.
void Drain(const PgCluster& pg) {
  PgConnection c = pg.Connect();
  auto slots = ListLogicalSlots(c);
  ASSERT_TRUE(slots.ok());
  auto lsn = MarkCdcFencePoint(c, "drain");
  ASSERT_TRUE(lsn.ok());
  Status st = WaitForSlotsConfirmed(c, *slots, *lsn, std::chrono::seconds(60), Clock::Real());
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST(CdcConsumer, DeliversEveryAcknowledgedCommitAcrossARestart) {
  auto pg = PgCluster::Primary();
  TempDir dir("pgshift-cdc-consumer");
  ASSERT_TRUE(CreateLedgerTables(pg->Conn(), 2).ok());
  ASSERT_TRUE(CdcConsumer::EnsureSlot(pg->Conn(), "demo_cdc").ok());
  ASSERT_TRUE(CdcConsumer::EnsureSlot(pg->Conn(), "demo_cdc").ok());  // idempotent
  auto consumer = CdcConsumer::Start(pg->Conn(), {"demo_cdc", dir.path() + "/out"});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto checker = CommitChecker::Start([&] { return pg->Conn(); }, {.clients = 2});
  ASSERT_TRUE(checker.ok());
  WaitForCommits(**checker, 100);
  ASSERT_TRUE((*consumer)->Restart(pg->Conn()).ok());
  EXPECT_EQ((*consumer)->restarts(), 1);
  WaitForCommits(**checker, (*checker)->report().commits + 100);
  (*checker)->Stop();
  Drain(*pg);
  (*consumer)->Stop();
  EXPECT_FALSE((*consumer)->Running());

  auto report = (*consumer)->Check((*checker)->acknowledged());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->missing, 0u) << report->first_problem;
  EXPECT_EQ(report->out_of_order, 0u) << report->first_problem;
  // A restarted consumer may be sent again what it had not confirmed: duplicates are
  // allowed here (and only here), gaps never.
  EXPECT_GE(report->delivered, (*checker)->report().commits);
}

TEST(CdcConsumer, CommitsBeforeTheSlotExistedAreReportedMissing) {
  auto pg = PgCluster::Primary();
  TempDir dir("pgshift-cdc-consumer");
  auto checker = CommitChecker::Start([&] { return pg->Conn(); }, {.clients = 1});
  ASSERT_TRUE(checker.ok());
  WaitForCommits(**checker, 30);
  ASSERT_TRUE(CdcConsumer::EnsureSlot(pg->Conn(), "late_cdc").ok());
  auto consumer = CdcConsumer::Start(pg->Conn(), {"late_cdc", dir.path() + "/out"});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  WaitForCommits(**checker, (*checker)->report().commits + 30);
  (*checker)->Stop();
  Drain(*pg);
  (*consumer)->Stop();
  auto report = (*consumer)->Check((*checker)->acknowledged());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok());
  EXPECT_GE(report->missing, 30u);
  EXPECT_NE(report->first_problem.find("never delivered"), std::string::npos);
  EXPECT_GT(report->delivered, 0u);
}

TEST(CdcConsumer, MovingToAServerWithoutTheSlotFailsWithTheReason) {
  auto first = PgCluster::Primary();
  auto second = PgCluster::Primary();
  TempDir dir("pgshift-cdc-consumer");
  ASSERT_TRUE(CdcConsumer::EnsureSlot(first->Conn(), "moving_cdc").ok());
  auto consumer = CdcConsumer::Start(first->Conn(), {"moving_cdc", dir.path() + "/out"});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  Status st = (*consumer)->Restart(second->Conn());
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("moving_cdc"), std::string::npos) << st.message();
  EXPECT_FALSE((*consumer)->Running());
}

}  // namespace
}  // namespace pgshift::demo
