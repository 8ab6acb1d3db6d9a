// DataVerification against a real server: a snapshot whose session ended (the target
// restarted: the chaos campaign's target_crash in promoting) is reported lost, not retried.
#include "workflow/data_verification.h"

#include <gtest/gtest.h>

#include "fixture/pg_cluster.h"

namespace pgshift::testing {
namespace {

TEST(DataVerification, ASnapshotWhoseSessionEndedIsReportedLostNotAnError) {
  auto server = PgCluster::Primary();
  server->Sql("CREATE TABLE orders (id int PRIMARY KEY, total int)");
  server->Sql("INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 100) g");
  auto sessions = OpenSnapshotSessions(server->Conn());
  ASSERT_TRUE(sessions.ok()) << sessions.status().ToString();
  ASSERT_TRUE(TakeSnapshots(*sessions).ok());

  // Held, the snapshot compares equal to the (unchanged) server.
  auto same = CompareWithSnapshots(server->Conn(), *sessions);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_TRUE(same->snapshot_lost.empty()) << same->snapshot_lost;
  EXPECT_GT(same->tables_compared, 0);
  EXPECT_TRUE(same->mismatches.empty());

  ASSERT_TRUE(TakeSnapshots(*sessions).ok());
  for (auto& s : *sessions) {
    server->Sql("SELECT pg_terminate_backend(" + std::to_string(s.connection.BackendPid()) + ")");
  }
  auto lost = CompareWithSnapshots(server->Conn(), *sessions);
  ASSERT_TRUE(lost.ok()) << "a lost snapshot must not be an error the engine retries: "
                         << lost.status().ToString();
  EXPECT_NE(lost->snapshot_lost.find(": "), std::string::npos) << lost->snapshot_lost;
  EXPECT_EQ(lost->tables_compared, 0);
  EXPECT_EQ(lost->snapshot_lost.find(PgCluster::kPassword), std::string::npos);
}

}  // namespace
}  // namespace pgshift::testing
