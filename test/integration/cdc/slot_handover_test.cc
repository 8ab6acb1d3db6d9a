// The slot hand-over functions against real servers: inventory, the confirmation wait's
// timeout, idempotent and conflicting recreation, and guarded drops.
#include "cdc/slot_handover.h"

#include <gtest/gtest.h>

#include <thread>

#include "cdc/logical_slot.h"
#include "common/clock.h"
#include "fixture/pg_cluster.h"

namespace pgshift {
namespace {

using testing::PgCluster;

std::vector<std::string> Names(PgCluster& pg) {
  PgConnection c = pg.Connect();
  auto slots = ListLogicalSlots(c);
  EXPECT_TRUE(slots.ok()) << slots.status().ToString();
  std::vector<std::string> out;
  for (const auto& s : *slots) out.push_back(s.name);
  return out;
}

TEST(CdcSlots, ListsLogicalSlotsWithTheirDatabaseAndPluginButNotPhysicalOrTemporaryOnes) {
  auto pg = PgCluster::Primary();
  pg->Sql("CREATE DATABASE app");
  pg->Sql("SELECT pg_create_logical_replication_slot('app_cdc', 'test_decoding', false, true)",
          "app");
  pg->Sql("SELECT pg_create_physical_replication_slot('standby_1')");
  PgConnection c = pg->Connect();
  ASSERT_TRUE(
      c.Exec("SELECT pg_create_logical_replication_slot('tmp_one', 'test_decoding', true)").ok());
  auto slots = ListLogicalSlots(c);
  ASSERT_TRUE(slots.ok()) << slots.status().ToString();
  ASSERT_EQ(slots->size(), 1u);
  const LogicalSlot& s = (*slots)[0];
  EXPECT_EQ(s.name, "app_cdc");
  EXPECT_EQ(s.plugin, "test_decoding");
  EXPECT_EQ(s.database, "app");
  EXPECT_TRUE(s.two_phase);
  EXPECT_FALSE(s.active);
  EXPECT_FALSE(s.active_pid.has_value());
  EXPECT_TRUE(s.confirmed_flush_lsn.valid());
  auto back = LogicalSlot::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->confirmed_flush_lsn, s.confirmed_flush_lsn);
  EXPECT_EQ(back->database, "app");
}

TEST(CdcSlots, WaitTimesOutNamingTheSlotWhenNoConsumerRuns) {
  auto pg = PgCluster::Primary();
  pg->Sql("SELECT pg_create_logical_replication_slot('orders_cdc', 'test_decoding')");
  pg->Sql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
  PgConnection c = pg->Connect();
  auto slots = ListLogicalSlots(c);
  ASSERT_TRUE(slots.ok());
  auto fence = MarkCdcFencePoint(c, "test");
  ASSERT_TRUE(fence.ok()) << fence.status().ToString();
  EXPECT_GT(*fence, (*slots)[0].confirmed_flush_lsn);
  FakeClock clock;  // the deadline passes without the test sleeping
  Status st = WaitForSlotsConfirmed(c, *slots, *fence, std::chrono::milliseconds(500), clock);
  ASSERT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
  EXPECT_NE(st.message().find("slot 'orders_cdc' confirmed"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("no consumer connected"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(fence->ToString()), std::string::npos) << st.message();
}

TEST(CdcSlots, WaitIsImmediateForAPositionAlreadyConfirmedAndFailsForAVanishedSlot) {
  auto pg = PgCluster::Primary();
  pg->Sql("SELECT pg_create_logical_replication_slot('a_cdc', 'test_decoding')");
  PgConnection c = pg->Connect();
  auto slots = ListLogicalSlots(c);
  ASSERT_TRUE(slots.ok());
  FakeClock clock;
  EXPECT_TRUE(WaitForSlotsConfirmed(c, *slots, (*slots)[0].confirmed_flush_lsn,
                                    std::chrono::milliseconds(0), clock)
                  .ok());
  pg->Sql("SELECT pg_drop_replication_slot('a_cdc')");
  Status st = WaitForSlotsConfirmed(c, *slots, (*slots)[0].confirmed_flush_lsn,
                                    std::chrono::seconds(5), clock);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("'a_cdc' no longer exists"), std::string::npos);
}

TEST(CdcSlots, RecreateIsIdempotentAndRefusesConflictsWithoutCreatingAnything) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::Primary();
  source->Sql("CREATE DATABASE app");
  target->Sql("CREATE DATABASE app");
  source->Sql("SELECT pg_create_logical_replication_slot('app_cdc', 'test_decoding', false, true)",
              "app");
  source->Sql("SELECT pg_create_logical_replication_slot('main_cdc', 'pgoutput')");
  PgConnection s = source->Connect();
  auto slots = ListLogicalSlots(s);
  ASSERT_TRUE(slots.ok());
  ASSERT_EQ(slots->size(), 2u);

  auto first = RecreateSlots(target->Conn(), *slots);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].name, "app_cdc");
  EXPECT_EQ((*first)[0].database, "app");
  EXPECT_TRUE((*first)[0].two_phase);
  EXPECT_EQ((*first)[1].plugin, "pgoutput");
  auto again = RecreateSlots(target->Conn(), *slots);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)[0].confirmed_flush_lsn, (*first)[0].confirmed_flush_lsn);  // kept, not redone

  auto other = PgCluster::Primary();
  other->Sql("SELECT pg_create_logical_replication_slot('main_cdc', 'test_decoding')");
  auto conflict = RecreateSlots(other->Conn(), *slots);
  ASSERT_EQ(conflict.status().code(), Code::kFailedPrecondition) << conflict.status().ToString();
  EXPECT_NE(conflict.status().message().find("'main_cdc' already exists"), std::string::npos);
  EXPECT_EQ(Names(*other), std::vector<std::string>{"main_cdc"});  // app_cdc not created
}

TEST(CdcSlots, RecreateRefusesATargetStillInRecovery) {
  auto source = PgCluster::Primary();
  source->Sql("SELECT pg_create_logical_replication_slot('x_cdc', 'test_decoding')");
  auto replica = PgCluster::ReplicaOf(*source);
  PgConnection s = source->Connect();
  auto slots = ListLogicalSlots(s);
  ASSERT_TRUE(slots.ok());
  auto r = RecreateSlots(replica->Conn(), *slots);
  ASSERT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("still in recovery"), std::string::npos);
}

TEST(CdcSlots, DropRefusesAnActiveSlotNamingItsConsumerUnlessForced) {
  auto pg = PgCluster::Primary();
  pg->Sql("SELECT pg_create_logical_replication_slot('busy', 'test_decoding')");
  pg->Sql("SELECT pg_create_logical_replication_slot('idle', 'test_decoding')");
  // A consumer holding 'busy': a walsender session streaming it.
  PgConnection holder = PgConnection::Connect(pg->Conn().With("replication", "database")).value();
  ASSERT_EQ(PQsendQuery(holder.raw(), "START_REPLICATION SLOT busy LOGICAL 0/0"), 1);
  std::string pid;
  for (int i = 0; i < 500 && pid.empty(); ++i) {
    pid = pg->Value(
        "SELECT coalesce(active_pid::text, '') FROM pg_replication_slots "
        "WHERE slot_name = 'busy'");
    if (pid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(pid.empty());

  Status refused = DropSlots(pg->Conn(), {"idle", "busy"}, false);
  ASSERT_EQ(refused.code(), Code::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("pid " + pid), std::string::npos) << refused.message();
  EXPECT_EQ(Names(*pg), (std::vector<std::string>{"busy", "idle"}));  // nothing dropped

  Status unknown = DropSlots(pg->Conn(), {"idle", "nope"}, false);
  EXPECT_EQ(unknown.code(), Code::kNotFound) << unknown.ToString();
  EXPECT_EQ(Names(*pg).size(), 2u);

  Status forced = DropSlots(pg->Conn(), {"idle", "busy"}, true);
  ASSERT_TRUE(forced.ok()) << forced.ToString();
  EXPECT_TRUE(Names(*pg).empty());
}

}  // namespace
}  // namespace pgshift
