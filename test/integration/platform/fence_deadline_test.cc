// A fence that cannot hold: a non-superuser orchestrator cannot terminate a superuser's
// session. The fence must say so (naming the pid) within its deadline, and unfencing must give
// the source back exactly as it was.
#include <gtest/gtest.h>

#include <filesystem>

#include "platform/hba_fence.h"
#include "platform/platform.h"
#include "source_sessions.h"

namespace pgshift {
namespace {

using testing::PgCluster;
namespace fs = std::filesystem;

constexpr const char* kOrchPassword = "orchestrator-role-secret";

void CreateNonSuperuserOrchestrator(const PgCluster& source) {
  source.Sql("CREATE ROLE orch LOGIN PASSWORD '" + std::string(kOrchPassword) + "'");
  source.Sql("GRANT pg_signal_backend, pg_read_all_stats TO orch");
  source.Sql("GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO orch");
  source.Sql("GRANT EXECUTE ON FUNCTION pg_reload_conf() TO orch");
}

TEST(LocalFence, DeadlineExceededNamesTheSurvivorAndUnfenceRestoresTheSource) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  CreateNonSuperuserOrchestrator(*source);
  auto target = PgCluster::ReplicaOf(*source);
  const std::string hba_before = testing::HbaOf(*source);

  PgConnection dba = testing::ConnectAsOtherSuperuserSession(*source);
  auto app = testing::ConnectAsApp(*source);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  ASSERT_TRUE(app->Exec("BEGIN; INSERT INTO t VALUES (1, 'uncommitted')").ok());

  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  auto orch = PgConnection::Connect(source->ConnAs("orch", kOrchPassword));
  ASSERT_TRUE(orch.ok()) << orch.status().ToString();
  FenceOptions options = testing::FenceAs("orch", std::chrono::milliseconds(500));
  auto report = platform->Fence(*orch, options, Clock::Real());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kDeadlineExceeded) << report.status().ToString();
  const std::string& msg = report.status().message();
  EXPECT_NE(msg.find("pid " + std::to_string(dba.BackendPid())), std::string::npos) << msg;
  EXPECT_NE(msg.find("superuser"), std::string::npos) << msg;
  // The application's session could be terminated, and was; the superuser's was not.
  EXPECT_EQ(msg.find("pid " + std::to_string(app->BackendPid())), std::string::npos) << msg;
  EXPECT_FALSE(app->Alive());
  EXPECT_TRUE(dba.Alive());
  for (const char* secret : {kOrchPassword, testing::kAppPassword, PgCluster::kPassword}) {
    EXPECT_EQ(msg.find(secret), std::string::npos);
  }

  Status st = platform->Unfence(*orch, options);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(testing::HbaOf(*source), hba_before);
  EXPECT_FALSE(fs::exists(source->data_dir() + "/" + kHbaBackupName));
  auto back = testing::ConnectAsApp(*source);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->Exec("INSERT INTO t VALUES (2, 'writable again')").ok());
  EXPECT_TRUE(dba.Exec("INSERT INTO t VALUES (3, 'the survivor writes too')").ok());
}

TEST(LocalFence, RoleThatCannotSeeEverySessionIsRefusedBeforeAnythingChanges) {
  auto source = PgCluster::Primary();
  source->Sql("CREATE ROLE blind LOGIN PASSWORD 'blind-secret'");
  source->Sql("GRANT pg_signal_backend TO blind");
  const std::string hba_before = testing::HbaOf(*source);
  auto platform = MakeLocalPlatform(source->data_dir(), "/unused", PgCluster::kPassword);
  auto blind = PgConnection::Connect(source->ConnAs("blind", "blind-secret"));
  ASSERT_TRUE(blind.ok()) << blind.status().ToString();
  auto report = platform->Fence(*blind, testing::FenceAs("blind"), Clock::Real());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kFailedPrecondition) << report.status().ToString();
  EXPECT_NE(report.status().message().find("pg_read_all_stats"), std::string::npos);
  EXPECT_EQ(testing::HbaOf(*source), hba_before);
  EXPECT_EQ(source->Value("SHOW default_transaction_read_only"), "off");
}

}  // namespace
}  // namespace pgshift
