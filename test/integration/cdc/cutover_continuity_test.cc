// I4 (CDC continuity) end to end: a real pg_recvlogical consumer follows a test_decoding
// slot on the source under write load; the source is fenced, the fence point confirmed,
// the replica promoted, the slot recreated on it and the consumer moved there while the
// writers continue on the new primary. Every acknowledged insert must reach the consumer
// exactly once, in order, with no gap.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "cdc/logical_slot.h"
#include "cdc/slot_handover.h"
#include "common/clock.h"
#include "demo/cdc_consumer.h"
#include "demo/commit_checker.h"
#include "fixture/pg_cluster.h"

namespace pgshift {
namespace {

using testing::PgCluster;
using testing::TempDir;

// Where the writers go; switched at cutover.
class SwitchableEndpoint {
 public:
  explicit SwitchableEndpoint(ConnInfo c) : current_(std::move(c)) {}
  void Set(ConnInfo c) {
    std::lock_guard<std::mutex> l(mu_);
    current_ = std::move(c);
  }
  ConnInfo Get() {
    std::lock_guard<std::mutex> l(mu_);
    return current_;
  }

 private:
  std::mutex mu_;
  ConnInfo current_;
};

void WaitForCommits(const demo::CommitChecker& checker, uint64_t at_least) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (checker.report().commits < at_least) {
    ASSERT_LT(std::chrono::steady_clock::now(), until)
        << "writers stuck at " << checker.report().commits << " commits";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The fence as the workflow builds it, reduced to what matters here: read-only for every
// session, then the writers' backends terminated (waiting for them to exit).
void FenceWriters(const PgCluster& source) {
  source.Sql("ALTER SYSTEM SET default_transaction_read_only = on");
  source.Sql("SELECT pg_reload_conf()");
  // Let every backend pick up the reload before the writers are cut off.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  source.Sql(
      "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
      "WHERE application_name = 'pgshift-demo-writer'");
}

TEST(CdcHandover, EveryInsertReachesTheConsumerOnceInOrderAcrossPromotion) {
  auto source = PgCluster::Primary();
  auto replica = PgCluster::ReplicaOf(*source);
  TempDir dir("pgshift-cdc-i4");
  const std::string slot = "i4_consumer";

  ASSERT_TRUE(demo::CreateLedgerTables(source->Conn(), 3).ok());
  ASSERT_TRUE(demo::CdcConsumer::EnsureSlot(source->Conn(), slot).ok());
  auto consumer = demo::CdcConsumer::Start(source->Conn(), {slot, dir.path() + "/cdc.out"});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();

  SwitchableEndpoint endpoint(source->Conn());
  auto checker = demo::CommitChecker::Start([&] { return endpoint.Get(); }, {.clients = 3});
  ASSERT_TRUE(checker.ok()) << checker.status().ToString();
  WaitForCommits(**checker, 300);

  // Inventory before the fence, as the workflow does.
  PgConnection src = source->Connect();
  auto slots = ListLogicalSlots(src);
  ASSERT_TRUE(slots.ok()) << slots.status().ToString();
  ASSERT_EQ(slots->size(), 1u);

  FenceWriters(*source);
  const uint64_t on_source = (*checker)->report().commits;
  auto t0 = std::chrono::steady_clock::now();
  auto fence = MarkCdcFencePoint(src, "i4-cutover");
  ASSERT_TRUE(fence.ok()) << fence.status().ToString();
  Status confirmed =
      WaitForSlotsConfirmed(src, *slots, *fence, std::chrono::seconds(60), Clock::Real());
  ASSERT_TRUE(confirmed.ok()) << confirmed.ToString();
  auto t_confirmed = std::chrono::steady_clock::now();
  // Nothing acknowledged after the fence point was marked: the fence held.
  EXPECT_EQ((*checker)->report().commits, on_source);

  source->WaitReplayed(*replica);
  (*consumer)->Stop();
  replica->Sql("SELECT pg_promote()");
  auto t1 = std::chrono::steady_clock::now();
  auto created = RecreateSlots(replica->Conn(), *slots);
  auto t_created = std::chrono::steady_clock::now();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_EQ(created->size(), 1u);
  EXPECT_EQ((*created)[0].name, slot);
  EXPECT_EQ((*created)[0].plugin, "test_decoding");
  Status restarted = (*consumer)->Restart(replica->Conn());
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();

  endpoint.Set(replica->Conn());
  WaitForCommits(**checker, on_source + 300);
  (*checker)->Stop();

  // Drain the consumer on the new primary the same way.
  PgConnection tgt = replica->Connect();
  auto end = MarkCdcFencePoint(tgt, "i4-end");
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  ASSERT_TRUE(
      WaitForSlotsConfirmed(tgt, *created, *end, std::chrono::seconds(60), Clock::Real()).ok());
  (*consumer)->Stop();

  auto acknowledged = (*checker)->acknowledged();
  auto report = (*consumer)->Check(acknowledged);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->first_problem;
  EXPECT_EQ(report->missing, 0u) << report->first_problem;
  EXPECT_EQ(report->duplicated, 0u) << report->first_problem;
  EXPECT_EQ(report->out_of_order, 0u) << report->first_problem;
  EXPECT_GE(report->delivered, acknowledged.size());
  EXPECT_GT((*checker)->report().commits, on_source);  // writes really happened on both sides
  auto received = (*consumer)->Received();
  ASSERT_TRUE(received.ok());
  EXPECT_EQ(received->fence_labels, (std::vector<std::string>{"i4-cutover", "i4-end"}));
  auto lost = (*checker)->CountLostCommits(replica->Conn());
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_EQ(*lost, 0u);
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf(
      "I4: fence point confirmed by the consumer in %.0f ms (status interval 1 s), "
      "slot recreated on the promoted target in %.0f ms\n",
      ms(t_confirmed - t0), ms(t_created - t1));
  std::printf(
      "I4: %zu acknowledged commits (%llu before the cutover), %llu rows delivered, "
      "%llu unacknowledged extra, max commit gap %.1f ms (%s)\n",
      acknowledged.size(), static_cast<unsigned long long>(on_source),
      static_cast<unsigned long long>(report->delivered),
      static_cast<unsigned long long>(report->unacknowledged),
      (*checker)->report().max_commit_gap_ms, (*checker)->report().gap_at.c_str());
}

}  // namespace
}  // namespace pgshift
