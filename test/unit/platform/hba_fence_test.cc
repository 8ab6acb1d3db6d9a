// The fenced pg_hba.conf: what it keeps, what it narrows, what it rejects.
#include "platform/hba_fence.h"

#include <gtest/gtest.h>

#include "platform/local_instance.h"

namespace pgshift {
namespace {

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(FencedHba, KeepsReplicationNarrowsTheRestToTheOrchestratorAndRejectsOthers) {
  auto fenced = FencedHba(LocalInstance::DefaultHba(), "pgshift_admin");
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  EXPECT_EQ(fenced->rfind(kHbaFenceMarker, 0), 0u);
  EXPECT_TRUE(HasLine(*fenced, "host replication all 127.0.0.1/32 scram-sha-256")) << *fenced;
  EXPECT_TRUE(HasLine(*fenced, "host all pgshift_admin 127.0.0.1/32 scram-sha-256")) << *fenced;
  EXPECT_TRUE(HasLine(*fenced, "local all pgshift_admin trust")) << *fenced;
  EXPECT_TRUE(HasLine(*fenced, "host all all all reject")) << *fenced;
  EXPECT_FALSE(HasLine(*fenced, "host all all 127.0.0.1/32 scram-sha-256")) << *fenced;
  // The rejects come after every admitting entry (pg_hba.conf is first match).
  EXPECT_GT(fenced->find("host all all all reject"), fenced->find("pgshift_admin"));
}

TEST(FencedHba, DropsEntriesThatNeverAdmittedTheOrchestrator) {
  std::string hba =
      "host app_db alice 10.0.0.0/8 md5  # comment\n"
      "hostssl all bob,pgshift_admin 0.0.0.0/0 scram-sha-256\n";
  auto fenced = FencedHba(hba, "pgshift_admin");
  ASSERT_TRUE(fenced.ok());
  EXPECT_EQ(fenced->find("alice"), std::string::npos) << *fenced;
  EXPECT_EQ(fenced->find("bob"), std::string::npos) << *fenced;
  EXPECT_TRUE(HasLine(*fenced, "hostssl all pgshift_admin 0.0.0.0/0 scram-sha-256")) << *fenced;
}

TEST(FencedHba, SplitsAMixedDatabaseListSoReplicationKeepsItsUsers) {
  auto fenced = FencedHba("host replication,app all 127.0.0.1/32 trust\n", "orch");
  ASSERT_TRUE(fenced.ok());
  EXPECT_TRUE(HasLine(*fenced, "host replication all 127.0.0.1/32 trust")) << *fenced;
  EXPECT_TRUE(HasLine(*fenced, "host app orch 127.0.0.1/32 trust")) << *fenced;
}

TEST(FencedHba, QuotesRoleNamesThatNeedIt) {
  auto fenced = FencedHba("host all all 127.0.0.1/32 trust\n", "Ops-Admin");
  ASSERT_TRUE(fenced.ok());
  EXPECT_TRUE(HasLine(*fenced, "host all \"Ops-Admin\" 127.0.0.1/32 trust")) << *fenced;
}

TEST(FencedHba, RejectsRoleNamesItCannotExpress) {
  for (std::string bad : {"", "we\"ird", "two\nlines"}) {
    auto fenced = FencedHba("host all all 127.0.0.1/32 trust\n", bad);
    ASSERT_FALSE(fenced.ok()) << bad;
    EXPECT_EQ(fenced.status().code(), Code::kInvalidArgument);
    EXPECT_NE(fenced.status().message().find("orchestrator_user"), std::string::npos);
  }
}

// The target fence (I8): the orchestrator and the proxies' backend roles, nobody else.
TEST(FencedHba, TargetFenceAdmitsTheOrchestratorAndTheProxiesBackendRolesOnly) {
  std::string hba =
      "host all all 127.0.0.1/32 scram-sha-256\n"
      "host appdb app,reporting 10.0.0.0/8 md5\n"
      "host replication all 127.0.0.1/32 scram-sha-256\n";
  auto fenced = FencedHba(hba, std::vector<std::string>{"postgres", "app"});
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  EXPECT_TRUE(HasLine(*fenced, "host all postgres,app 127.0.0.1/32 scram-sha-256")) << *fenced;
  EXPECT_TRUE(HasLine(*fenced, "host appdb app 10.0.0.0/8 md5")) << *fenced;
  EXPECT_TRUE(HasLine(*fenced, "host replication all 127.0.0.1/32 scram-sha-256")) << *fenced;
  EXPECT_EQ(fenced->find("reporting"), std::string::npos) << *fenced;
  EXPECT_GT(fenced->find("host all all all reject"), fenced->find("10.0.0.0/8"));
}

}  // namespace
}  // namespace pgshift
