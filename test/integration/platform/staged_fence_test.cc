// The read-only layer written ahead (StageReadOnlyFence, while the pause drains) against real
// servers: it changes nothing until the fence's reload, and with writers racing the fence no
// write commits past the final LSN (I2); a rollback that unfences undoes it for good.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "platform/platform.h"
#include "platform/replication_status.h"
#include "platform/source_fence.h"
#include "source_sessions.h"

namespace pgshift {
namespace {

using testing::PgCluster;

// Application writers that insert one row per transaction, as fast as they can, until told to
// stop; a writer whose session is ended tries to log in again (the fence's block refuses it).
class RacingWriters {
 public:
  RacingWriters(const PgCluster& source, int writers) {
    for (int w = 0; w < writers; ++w) {
      threads_.emplace_back([this, &source, w, writers] { Write(source, w, writers); });
    }
  }
  ~RacingWriters() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  size_t acknowledged() {
    std::lock_guard<std::mutex> l(mu_);
    return acked_.size();
  }
  std::vector<int> acknowledged_ids() {
    std::lock_guard<std::mutex> l(mu_);
    return acked_;
  }
  int refused() const { return refused_; }

 private:
  void Write(const PgCluster& source, int w, int writers) {
    std::optional<PgConnection> conn;
    for (int id = w + 1; !stop_; id += writers) {
      if (!conn || !conn->Alive()) {
        auto c = testing::ConnectAsApp(source);
        if (!c.ok()) {
          ++refused_;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));  // retry pacing, not sync
          continue;
        }
        conn.emplace(std::move(c).value());
      }
      if (conn->Exec("INSERT INTO t VALUES (" + std::to_string(id) + ", 'racing')").ok()) {
        std::lock_guard<std::mutex> l(mu_);
        acked_.push_back(id);
      } else {
        ++refused_;
      }
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int> refused_{0};
  std::mutex mu_;
  std::vector<int> acked_;
  std::vector<std::thread> threads_;
};

// Waits (up to 30 s) until the writers have had `more` commits acknowledged.
bool WaitForMoreCommits(RacingWriters& writers, size_t more) {
  const size_t want = writers.acknowledged() + more;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < end) {
    if (writers.acknowledged() >= want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(StagedFence, NothingIsInForceUntilTheFenceAndNoRacingWriteCommitsPastTheFinalLsn) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  PgConnection orch = source->Connect();

  RacingWriters writers(*source, 3);
  ASSERT_TRUE(WaitForMoreCommits(writers, 20));
  ASSERT_TRUE(StageReadOnlyFence(orch, testing::FenceAs("postgres")).ok());
  // Written, not in force: the writers go on committing (a reload would stop them within
  // milliseconds; 300 more commits take far longer) and none was refused.
  const int refused_before = writers.refused();
  ASSERT_TRUE(WaitForMoreCommits(writers, 300));
  EXPECT_EQ(writers.refused(), refused_before);

  FenceOptions options = testing::FenceAs("postgres");
  options.read_only_staged = true;
  auto report = platform->Fence(orch, options, Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->layers, (std::vector<std::string>{"block_connections:pg_hba", "read_only",
                                                      "terminate_backends"}));
  // The final LSN, and with it which transactions had committed: the fence ended every writer's
  // session, so none is half way through a commit here.
  auto fenced = orch.Query(
      "SELECT pg_current_wal_lsn()::text AS lsn, "
      "pg_current_snapshot()::text AS snap");
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  auto final_lsn = Lsn::Parse(fenced->Get(0, "lsn"));
  ASSERT_TRUE(final_lsn.ok());
  const std::string snapshot = fenced->Get(0, "snap");
  // The writers keep trying for a while after the final LSN.
  const int refused_at_fence = writers.refused();
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (writers.refused() < refused_at_fence + 50 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  writers.Stop();
  EXPECT_GE(writers.refused(), refused_at_fence + 50);

  // No row on the source was committed by a transaction the final snapshot did not see.
  EXPECT_EQ(source->Value("SELECT count(*) FROM t WHERE NOT pg_visible_in_snapshot("
                          "xmin::text::xid8, '" +
                          snapshot + "'::pg_snapshot)"),
            "0");
  // Every acknowledged commit is on the target once it has replayed the final LSN.
  PgConnection tconn = target->Connect();
  ASSERT_TRUE(WaitForReplay(tconn, *final_lsn, std::chrono::seconds(30), Clock::Real()).ok());
  std::vector<int> acked = writers.acknowledged_ids();
  ASSERT_FALSE(acked.empty());
  std::string ids;
  for (int id : acked) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  EXPECT_EQ(target->Value("SELECT count(*) FROM t WHERE id IN (" + ids + ")"),
            std::to_string(acked.size()));
  EXPECT_EQ(source->Value("SELECT count(*) FROM t"), std::to_string(acked.size()));

  ASSERT_TRUE(platform->Unfence(orch, testing::FenceAs("postgres")).ok());
}

// A cutover that stages the read-only layer and then rolls back (the pause was not
// acknowledged) unfences the source: a later reload must not make it read-only.
TEST(StagedFence, UnfenceAfterStagingLeavesNothingForALaterReload) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  PgConnection orch = source->Connect();
  ASSERT_TRUE(StageReadOnlyFence(orch, testing::FenceAs("postgres")).ok());
  const std::string auto_conf = source->data_dir() + "/postgresql.auto.conf";
  EXPECT_NE(testing::ReadFileText(auto_conf).find("default_transaction_read_only"),
            std::string::npos);
  ASSERT_TRUE(platform->Unfence(orch, testing::FenceAs("postgres")).ok());
  // Nothing left for the next reload (by anyone, or a restart) to put in force.
  EXPECT_EQ(testing::ReadFileText(auto_conf).find("default_transaction_read_only"),
            std::string::npos);
  source->Sql("SELECT pg_reload_conf()");
  auto app = testing::ConnectAsApp(*source);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_TRUE(app->Exec("INSERT INTO t VALUES (1, 'writable')").ok());
}

}  // namespace
}  // namespace pgshift
