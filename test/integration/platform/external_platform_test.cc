// The external platform: SQL-only fence plus the operator's fence / unfence commands.
#include <gtest/gtest.h>

#include <filesystem>

#include "platform/platform.h"
#include "source_sessions.h"

namespace pgshift {
namespace {

using testing::PgCluster;
namespace fs = std::filesystem;

TEST(ExternalFence, RunsTheOperatorsCommandsAroundTheSqlLayers) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  testing::TempDir dir("pgshift-external");
  const std::string marker = dir.path() + "/fenced";
  FenceOptions options = testing::FenceAs("postgres");
  options.fence_command = "echo fenced > " + marker;
  options.unfence_command = "rm -f " + marker;

  auto app = testing::ConnectAsApp(*source);
  ASSERT_TRUE(app.ok());
  auto platform = MakeExternalPlatform();
  EXPECT_EQ(platform->kind(), "external");
  PgConnection orch = source->Connect();
  auto report = platform->Fence(orch, options, Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->layers, (std::vector<std::string>{"block_connections:fence_command",
                                                      "read_only", "terminate_backends"}));
  EXPECT_EQ(report->terminated_backends, 1);
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_FALSE(app->Alive());
  // No pg_hba.conf layer here: a new session connects, but cannot write.
  auto fresh = testing::ConnectAsApp(*source);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->Exec("INSERT INTO t VALUES (1, 'x')").ok());

  ASSERT_TRUE(platform->Unfence(orch, options).ok());
  EXPECT_FALSE(fs::exists(marker));
  auto back = testing::ConnectAsApp(*source);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Exec("INSERT INTO t VALUES (2, 'writable again')").ok());
}

TEST(ExternalFence, FailingFenceCommandStopsBeforeReadOnly) {
  auto source = PgCluster::Primary();
  FenceOptions options = testing::FenceAs("postgres");
  options.fence_command = "echo 'security group API said no' >&2; exit 3";
  auto platform = MakeExternalPlatform();
  PgConnection orch = source->Connect();
  auto report = platform->Fence(orch, options, Clock::Real());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("exited with 3"), std::string::npos);
  EXPECT_NE(report.status().message().find("security group API said no"), std::string::npos);
  EXPECT_EQ(source->Value("SHOW default_transaction_read_only"), "off");
}

TEST(ExternalFence, WithoutCommandsOnlyTheSqlLayersApply) {
  auto source = PgCluster::Primary();
  auto platform = MakeExternalPlatform();
  PgConnection orch = source->Connect();
  auto report = platform->Fence(orch, testing::FenceAs("postgres"), Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->layers, (std::vector<std::string>{"read_only", "terminate_backends"}));
  EXPECT_EQ(source->Value("SHOW default_transaction_read_only"), "on");
  ASSERT_TRUE(platform->Unfence(orch, testing::FenceAs("postgres")).ok());
  EXPECT_EQ(source->Value("SHOW default_transaction_read_only"), "off");
}

// Read-only does not stop COMMIT PREPARED on PostgreSQL 15 (LocalFence test), and without a
// fence command nothing keeps the owner from reconnecting to commit one after the final LSN.
TEST(ExternalFence, WithoutACommandPreparedTransactionsStopTheFenceBeforeAnyChange) {
  auto source = PgCluster::Primary({{"max_prepared_transactions", "10"}});
  source->Sql("CREATE TABLE t (id int)");
  source->Sql("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'order-42'");
  auto platform = MakeExternalPlatform();
  PgConnection orch = source->Connect();
  auto report = platform->Fence(orch, testing::FenceAs("postgres"), Clock::Real());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("'order-42'"), std::string::npos);
  EXPECT_NE(report.status().message().find("Nothing was changed"), std::string::npos);
  EXPECT_EQ(source->Value("SHOW default_transaction_read_only"), "off");

  // With a command that keeps clients out, the same source fences and the transaction is kept.
  FenceOptions options = testing::FenceAs("postgres");
  options.fence_command = "true";
  options.unfence_command = "true";
  report = platform->Fence(orch, options, Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->prepared_transactions, 1);
  ASSERT_TRUE(platform->Unfence(orch, options).ok());
  source->Sql("ROLLBACK PREPARED 'order-42'");
}

TEST(ExternalPlatform, CannotRewind) {
  auto platform = MakeExternalPlatform();
  EXPECT_FALSE(platform->CanRewind());
  auto target = ConnInfo::Parse("host=127.0.0.1 port=1 password=hidden-pw", "target").value();
  Status st = platform->RewindToFollow(target, Clock::Real());
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_EQ(st.message().find("hidden-pw"), std::string::npos);
}

}  // namespace
}  // namespace pgshift
