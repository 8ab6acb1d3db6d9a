// PgbenchLoad runs real pgbench, survives the server going away, and its totals agree
// with what the server recorded.
#include "demo/pgbench_load.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fixture/pg_cluster.h"
#include "platform/port_reservation.h"

namespace pgshift::demo {
namespace {

using pgshift::testing::PgCluster;
using pgshift::testing::TempDir;

uint64_t HistoryRows(const PgCluster& pg, const std::string& where = "true") {
  return std::stoull(pg.Value("SELECT count(*) FROM pgbench_history WHERE " + where));
}

template <typename Pred>
void WaitFor(Pred pred, const char* what) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!pred()) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "timed out waiting for " << what;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TEST(PgbenchOutput, ReadsTheSummaryOrEstimatesFromProgress) {
  PgbenchRunTotals done = ParsePgbenchOutput(
      "progress: 1.0 s, 100.0 tps, lat 1.0 ms stddev 0.1, 0 failed\n"
      "pgbench: error: client 1 aborted in command 8 (SQL) of script 0; perhaps the backend "
      "died while processing\n"
      "pgbench: error: client 0 aborted in command 5 (SQL) of script 0; perhaps the backend "
      "died while processing\n"
      "number of transactions actually processed: 1234\n"
      "number of failed transactions: 3 (0.243%)\n");
  EXPECT_TRUE(done.summary_seen);
  EXPECT_EQ(done.transactions, 1234u);
  EXPECT_EQ(done.failed, 3u);
  EXPECT_EQ(done.aborted_clients, 2u);

  PgbenchRunTotals killed = ParsePgbenchOutput(
      "progress: 1.0 s, 100.0 tps, lat 1.0 ms stddev 0.1, 0 failed\n"
      "progress: 2.0 s, 50.5 tps, lat 1.0 ms stddev 0.1, 0 failed\n"
      "progress: 3.0 s, 2");
  EXPECT_FALSE(killed.summary_seen);
  EXPECT_EQ(killed.transactions, 151u);  // the partial last line is not a full interval
}

TEST(PgbenchLoad, RestartsAfterTheServerGoesAwayAndCountsWhatItDid) {
  auto pg = PgCluster::Primary();
  TempDir logs("pgshift-pgbench");
  ASSERT_TRUE(PgbenchLoad::Init(pg->Conn(), 1).ok());
  auto load =
      PgbenchLoad::Start([&] { return pg->Conn(); }, {.clients = 2, .log_dir = logs.path()});
  ASSERT_TRUE(load.ok()) << load.status().ToString();
  WaitFor([&] { return HistoryRows(*pg) > 200; }, "pgbench to commit");

  ASSERT_TRUE(pg->instance().Stop(/*immediate=*/true).ok());
  WaitFor([&] { return (*load)->report().aborted_clients >= 2; }, "pgbench to give up");
  PgbenchLoad::Report first = (*load)->report();
  ASSERT_TRUE(pg->instance().Start().ok());
  // What the first run committed: everything older than this server start.
  uint64_t committed_by_first = HistoryRows(*pg, "mtime < (SELECT pg_postmaster_start_time())");
  EXPECT_LE(first.transactions, committed_by_first);
  EXPECT_GE(first.transactions + 2, committed_by_first);  // at most one in flight per client
  EXPECT_FALSE(first.estimated);

  WaitFor([&] { return HistoryRows(*pg) > committed_by_first + 200; }, "pgbench to resume");
  // A run stopped early is counted from its --progress lines: wait for the second run's first.
  WaitFor(
      [&] {
        for (const auto& f : std::filesystem::directory_iterator(logs.path())) {
          if (f.path().filename() == "pgbench-0.log") continue;
          std::ifstream log(f.path());
          std::stringstream text;
          text << log.rdbuf();
          if (text.str().find("progress:") != std::string::npos) return true;
        }
        return false;
      },
      "the second pgbench run to report progress");
  (*load)->Stop();
  PgbenchLoad::Report r = (*load)->report();
  EXPECT_EQ(r.restarts, 1u);
  EXPECT_TRUE(r.estimated);  // the last run was stopped before its summary
  EXPECT_GT(r.transactions, first.transactions);
}

TEST(PgbenchLoad, InitReportsAnUnreachableServer) {
  auto port = ReservePort();
  ASSERT_TRUE(port.ok());
  auto ci = ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(*port) +
                                " user=postgres password=do-not-print-me connect_timeout=2",
                            "demo")
                .value();
  Status st = PgbenchLoad::Init(ci, 1);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().find("do-not-print-me"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace pgshift::demo
