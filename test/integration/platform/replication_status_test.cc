// Replication positions on a real primary / standby pair.
#include "platform/replication_status.h"

#include <gtest/gtest.h>

#include "fixture/pg_cluster.h"

namespace pgshift {
namespace {

using testing::PgCluster;

TEST(ReplicationStatus, StandbyReachesThePrimarysPosition) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  source->Sql("CREATE TABLE t AS SELECT generate_series(1, 1000) AS id");
  PgConnection s = source->Connect();
  PgConnection t = target->Connect();
  auto lsn = CurrentWalLsn(s);
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*InRecovery(s), false);
  EXPECT_EQ(*InRecovery(t), true);
  ASSERT_TRUE(WaitForReplay(t, *lsn, std::chrono::seconds(30), Clock::Real()).ok());
  auto replayed = ReplayLsn(t);
  ASSERT_TRUE(replayed.ok());
  EXPECT_GE(*replayed, *lsn);
  EXPECT_EQ(target->Value("SELECT count(*) FROM t"), "1000");

  auto on_standby = CurrentWalLsn(t);
  ASSERT_FALSE(on_standby.ok());
  EXPECT_EQ(on_standby.status().code(), Code::kFailedPrecondition);
}

TEST(ReplicationStatus, WaitForReplayReportsBothPositionsWhenItTimesOut) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  PgConnection t = target->Connect();
  auto replayed = ReplayLsn(t);
  ASSERT_TRUE(replayed.ok());
  Lsn unreachable{replayed->value + (uint64_t{1} << 40)};  // WAL nobody has written
  FakeClock clock;                                         // the poll advances it: no real waiting
  Status st = WaitForReplay(t, unreachable, std::chrono::milliseconds(100), clock);
  ASSERT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
  EXPECT_NE(st.message().find(unreachable.ToString()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("replayed only up to"), std::string::npos);
}

}  // namespace
}  // namespace pgshift
