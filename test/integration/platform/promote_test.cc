// Promotion of a real standby: by poll, idempotent, with everything replayed before it.
#include <gtest/gtest.h>

#include <iostream>

#include "platform/platform.h"
#include "platform/replication_status.h"
#include "source_sessions.h"

namespace pgshift {
namespace {

using testing::PgCluster;

TEST(PromoteTarget, PromotesAStandbyAndASecondCallIsANoOp) {
  auto source = PgCluster::Primary();
  source->Sql("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)");
  auto target = PgCluster::ReplicaOf(*source);
  source->WaitReplayed(*target);

  for (auto& platform :
       {MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword),
        MakeExternalPlatform()}) {
    PgConnection tconn = target->Connect();
    auto took = platform->Promote(tconn, std::chrono::seconds(30), Clock::Real());
    ASSERT_TRUE(took.ok()) << platform->kind() << ": " << took.status().ToString();
    std::cout << "[measure] promote_ms(" << platform->kind() << ")=" << took->count() << "\n";
    EXPECT_EQ(*InRecovery(tconn), false);
    // Already promoted (by the first platform, or by the first call): zero, no new promotion.
    auto again = platform->Promote(tconn, std::chrono::seconds(30), Clock::Real());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->count(), 0);
  }
  EXPECT_EQ(target->Value("SELECT count(*) FROM t"), "100");
  target->Sql("INSERT INTO t VALUES (101)");  // writable
  EXPECT_EQ(source->Value("SELECT count(*) FROM t"), "100");
}

}  // namespace
}  // namespace pgshift
