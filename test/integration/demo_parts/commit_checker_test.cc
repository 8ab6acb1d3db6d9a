// CommitChecker against real servers: it keeps writing through an outage, counts what
// failed, and its lost-commit count finds a commit that really is missing.
#include "demo/commit_checker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fixture/pg_cluster.h"

namespace pgshift::demo {
namespace {

using pgshift::testing::PgCluster;

void WaitForCommits(const CommitChecker& c, uint64_t at_least) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (c.report().commits < at_least) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "stuck at " << c.report().commits;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(CommitChecker, RidesOutAServerRestartCountingFailuresAndLosingNothing) {
  auto pg = PgCluster::Primary();
  auto checker = CommitChecker::Start([&] { return pg->Conn(); }, {.clients = 2});
  ASSERT_TRUE(checker.ok()) << checker.status().ToString();
  WaitForCommits(**checker, 100);

  ASSERT_TRUE(pg->instance().Stop().ok());
  auto down_since = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto down_until = std::chrono::steady_clock::now();
  ASSERT_TRUE(pg->instance().Start().ok());
  uint64_t before = (*checker)->report().commits;
  WaitForCommits(**checker, before + 100);
  (*checker)->Stop();

  auto r = (*checker)->report();
  EXPECT_GE(r.failed_transactions, 1u);
  EXPECT_GE(r.reconnects, 2u);  // both clients came back
  // No commit can be acknowledged while the server is down, so the longest gap spans it.
  double down_ms = std::chrono::duration<double, std::milli>(down_until - down_since).count();
  EXPECT_GE(r.max_commit_gap_ms, down_ms) << r.gap_at;
  EXPECT_FALSE(r.gap_at.empty());
  EXPECT_EQ((*checker)->acknowledged().size(), r.commits);
  auto lost = (*checker)->CountLostCommits(pg->Conn());
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_EQ(*lost, 0u);
  // Every acknowledged commit is a row; rows beyond that are commits whose acknowledgement
  // the outage swallowed, at most one per failed transaction.
  uint64_t rows = std::stoull(pg->Value("SELECT count(*) FROM pgshift_demo_ledger"));
  EXPECT_GE(rows, r.commits);
  EXPECT_LE(rows, r.commits + r.failed_transactions);
}

TEST(CommitChecker, ARowDeletedBehindItsBackIsALostCommit) {
  auto pg = PgCluster::Primary();
  auto checker = CommitChecker::Start([&] { return pg->Conn(); }, {.clients = 1});
  ASSERT_TRUE(checker.ok()) << checker.status().ToString();
  WaitForCommits(**checker, 20);
  (*checker)->Stop();
  auto acked = (*checker)->acknowledged();
  ASSERT_FALSE(acked.empty());
  pg->Sql("DELETE FROM pgshift_demo_ledger WHERE client = " + std::to_string(acked[5].client) +
          " AND seq = " + std::to_string(acked[5].seq));
  auto lost = (*checker)->CountLostCommits(pg->Conn());
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_EQ(*lost, 1u);
}

TEST(CommitChecker, FollowsTheEndpointToASecondCluster) {
  auto first = PgCluster::Primary();
  auto second = PgCluster::Primary();
  ASSERT_TRUE(CreateLedgerTables(second->Conn(), 2).ok());
  std::atomic<bool> moved{false};
  auto checker =
      CommitChecker::Start([&] { return moved ? second->Conn() : first->Conn(); }, {.clients = 2});
  ASSERT_TRUE(checker.ok()) << checker.status().ToString();
  WaitForCommits(**checker, 50);
  moved = true;
  first->Sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'pgshift-demo-writer'");
  first->Sql("ALTER DATABASE postgres SET default_transaction_read_only = on");
  uint64_t on_first = std::stoull(first->Value("SELECT count(*) FROM pgshift_demo_ledger"));
  WaitForCommits(**checker, on_first + 50);
  (*checker)->Stop();
  uint64_t on_second = std::stoull(second->Value("SELECT count(*) FROM pgshift_demo_ledger"));
  EXPECT_GE(on_second, 50u);
  // Seen from the second cluster, exactly the first cluster's acknowledged commits are lost.
  auto lost = (*checker)->CountLostCommits(second->Conn());
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  auto lost_on_first = (*checker)->CountLostCommits(first->Conn());
  ASSERT_TRUE(lost_on_first.ok());
  EXPECT_EQ(*lost + *lost_on_first, (*checker)->report().commits);
  EXPECT_GE(*lost, 50u);
}

TEST(CommitChecker, RejectsNoClients) {
  auto r = CommitChecker::Start([] { return ConnInfo::Parse("", "x").value(); }, {.clients = 0});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pgshift::demo
