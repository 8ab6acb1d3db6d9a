// The local fence against real servers: what it stops, what it keeps, and how it is undone.
#include <gtest/gtest.h>

#include <filesystem>

#include "platform/hba_fence.h"
#include "platform/platform.h"
#include "platform/replication_status.h"
#include "source_sessions.h"

namespace pgshift {
namespace {

using testing::PgCluster;
namespace fs = std::filesystem;

TEST(LocalFence, IdleInTransactionSessionIsTerminatedAndItsWritesAreNowhere) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  const std::string hba_before = testing::HbaOf(*source);

  auto app = testing::ConnectAsApp(*source);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  ASSERT_TRUE(app->Exec("BEGIN; INSERT INTO t VALUES (1, 'uncommitted')").ok());

  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  EXPECT_EQ(platform->kind(), "local");
  PgConnection orch = source->Connect();
  auto started = std::chrono::steady_clock::now();
  auto report = platform->Fence(orch, testing::FenceAs("postgres"), Clock::Real());
  testing::PrintMeasurement("local_fence_ms", started);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->terminated_backends, 1);
  EXPECT_EQ(report->remaining_backends, 0);
  EXPECT_EQ(report->layers, (std::vector<std::string>{"block_connections:pg_hba", "read_only",
                                                      "terminate_backends"}));

  // The session is gone, and with it the uncommitted row, on both sides.
  EXPECT_FALSE(app->Exec("INSERT INTO t VALUES (2, 'after the fence')").ok());
  EXPECT_EQ(*orch.QueryValue("SELECT count(*) FROM t"), "0");
  source->WaitReplayed(*target);
  EXPECT_EQ(target->Value("SELECT count(*) FROM t"), "0");

  // A brand-new connection by another role is refused by pg_hba.conf.
  auto fresh = testing::ConnectAsApp(*source);
  ASSERT_FALSE(fresh.ok());
  EXPECT_NE(fresh.status().message().find("pg_hba.conf"), std::string::npos)
      << fresh.status().ToString();
  EXPECT_EQ(fresh.status().message().find(testing::kAppPassword), std::string::npos);

  // A session that gets in (the orchestrator role, not pgshift) cannot write.
  PgConnection straggler = testing::ConnectAsOtherSuperuserSession(*source);
  Status write = straggler.Exec("INSERT INTO t VALUES (3, 'straggler')");
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.message().find("read-only"), std::string::npos) << write.ToString();
  // pgshift's own session still writes.
  EXPECT_TRUE(orch.Exec("CREATE TEMP TABLE scratch (x int)").ok());

  // Fencing again is harmless and catches the straggler.
  auto again = platform->Fence(orch, testing::FenceAs("postgres"), Clock::Real());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->terminated_backends, 1);
  EXPECT_FALSE(straggler.Alive());

  ASSERT_TRUE(platform->Unfence(orch, testing::FenceAs("postgres")).ok());
  EXPECT_EQ(testing::HbaOf(*source), hba_before);
  auto back = testing::ConnectAsApp(*source);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->Exec("INSERT INTO t VALUES (4, 'writable again')").ok());
}

// The backends a paused proxy holds are left to it while idle: the proxy forwards nothing to
// them and closes them after the switch, so the fence does not wait for their exits. Named
// but inside a transaction, a backend is terminated like any other; and a held one that did
// send a write would find the server read-only.
TEST(LocalFence, IdleBackendsHeldByTheProxyAreLeftAndTheRestAreTerminated) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  auto held_idle = testing::ConnectAsApp(*source);
  auto held_busy = testing::ConnectAsApp(*source);
  auto other = testing::ConnectAsApp(*source);
  ASSERT_TRUE(held_idle.ok() && held_busy.ok() && other.ok());
  ASSERT_TRUE(held_busy->Exec("BEGIN; INSERT INTO t VALUES (1, 'uncommitted')").ok());
  auto pid = [](PgConnection& c) { return std::stoi(*c.QueryValue("SELECT pg_backend_pid()")); };
  int idle_pid = pid(*held_idle);
  int busy_pid = pid(*held_busy);

  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  PgConnection orch = source->Connect();
  FenceOptions options = testing::FenceAs("postgres");
  options.held_by_router = {idle_pid, busy_pid};
  auto report = platform->Fence(orch, options, Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->terminated_backends, 2);  // the busy held one and the other
  EXPECT_EQ(report->held_by_router, 1);
  EXPECT_EQ(report->remaining_backends, 0);
  EXPECT_FALSE(held_busy->Alive());
  EXPECT_FALSE(other->Alive());
  EXPECT_EQ(*orch.QueryValue("SELECT count(*) FROM pg_stat_activity WHERE pid = " +
                             std::to_string(idle_pid)),
            "1");
  Status write = held_idle->Exec("INSERT INTO t VALUES (2, 'after the fence')");
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.message().find("read-only"), std::string::npos) << write.ToString();
  ASSERT_TRUE(platform->Unfence(orch, testing::FenceAs("postgres")).ok());
  // Unfenced, the same session writes again: the rollback path keeps the proxy's backends.
  EXPECT_TRUE(held_idle->Exec("INSERT INTO t VALUES (3, 'writable again')").ok());
}

// pgshift's own sessions are known by their pids, not by a name: a client that calls itself
// "pgshift-evil" as the orchestrator's role (a name anyone can set, also through the proxy) is
// terminated, while the orchestrator's second session, named by pid, survives and still writes.
TEST(LocalFence, ClientNamedLikePgshiftIsTerminatedAndOnlyTheNamedPidsSurvive) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  auto evil = PgConnection::Connect(source->Conn().With("application_name", "pgshift-evil"));
  ASSERT_TRUE(evil.ok()) << evil.status().ToString();
  auto own_second = PgConnection::Connect(source->Conn().With("application_name", "pgshift"));
  ASSERT_TRUE(own_second.ok()) << own_second.status().ToString();
  ASSERT_TRUE(own_second->Exec("SET default_transaction_read_only = off").ok());
  int evil_pid = evil->BackendPid();

  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  PgConnection orch = source->Connect();
  FenceOptions options = testing::FenceAs("postgres");
  options.own_backend_pids = {own_second->BackendPid()};
  auto report = platform->Fence(orch, options, Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->terminated_backends, 1);
  EXPECT_EQ(report->remaining_backends, 0);
  EXPECT_FALSE(evil->Alive());
  EXPECT_EQ(*orch.QueryValue("SELECT count(*) FROM pg_stat_activity WHERE pid = " +
                             std::to_string(evil_pid)),
            "0");
  EXPECT_TRUE(own_second->Alive());
  EXPECT_TRUE(own_second->Exec("INSERT INTO t VALUES (1, 'pgshift writes while fenced')").ok());
  ASSERT_TRUE(platform->Unfence(orch, testing::FenceAs("postgres")).ok());
}

TEST(LocalFence, PreparedTransactionSurvivesIsCountedAndReachesTheTarget) {
  auto source = PgCluster::Primary({{"max_prepared_transactions", "10"}});
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  {
    auto app = testing::ConnectAsApp(*source);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    ASSERT_TRUE(app->Exec("BEGIN; INSERT INTO t VALUES (1, 'prepared'); "
                          "PREPARE TRANSACTION 'px'")
                    .ok());
  }
  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  PgConnection orch = source->Connect();
  auto report = platform->Fence(orch, testing::FenceAs("postgres"), Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->prepared_transactions, 1);
  EXPECT_EQ(report->remaining_backends, 0);

  // Its owner cannot come back to commit it: pg_hba.conf refuses the role.
  EXPECT_FALSE(testing::ConnectAsApp(*source).ok());
  EXPECT_EQ(*orch.QueryValue("SELECT string_agg(gid, ',') FROM pg_prepared_xacts"), "px");

  auto final_lsn = CurrentWalLsn(orch);
  ASSERT_TRUE(final_lsn.ok()) << final_lsn.status().ToString();
  PgConnection tconn = target->Connect();
  ASSERT_TRUE(WaitForReplay(tconn, *final_lsn, std::chrono::seconds(30), Clock::Real()).ok());
  auto took = platform->Promote(tconn, std::chrono::seconds(30), Clock::Real());
  ASSERT_TRUE(took.ok()) << took.status().ToString();
  EXPECT_EQ(target->Value("SELECT string_agg(gid, ',') FROM pg_prepared_xacts"), "px");
  target->Sql("COMMIT PREPARED 'px'");
  EXPECT_EQ(target->Value("SELECT v FROM t WHERE id = 1"), "prepared");
}

// A limit of layer 4 worth knowing: PostgreSQL 15 lets COMMIT PREPARED run in a read-only
// transaction, so only the connection block keeps it away from the fenced source. A session of
// the orchestrator role itself (which the block admits) could still commit one.
TEST(LocalFence, ReadOnlyAloneDoesNotStopCommitPrepared) {
  auto source = PgCluster::Primary({{"max_prepared_transactions", "10"}});
  source->Sql("CREATE TABLE t (id int)");
  source->Sql("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'px'");
  source->Sql("ALTER SYSTEM SET default_transaction_read_only = on");
  source->Sql("SELECT pg_reload_conf()");
  testing::WaitForValue(*source, "SHOW default_transaction_read_only", "on");
  PgConnection session = testing::ConnectAsOtherSuperuserSession(*source);
  EXPECT_FALSE(session.Exec("INSERT INTO t VALUES (2)").ok());
  EXPECT_TRUE(session.Exec("COMMIT PREPARED 'px'").ok());
}

TEST(LocalFence, SessionWaitingForSynchronousCommitIsTerminatedAndItsCommitReachesTheTarget) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  // A synchronous standby that does not exist: every COMMIT waits for it forever.
  source->Sql("ALTER SYSTEM SET synchronous_standby_names = 'ghost_standby'");
  source->Sql("SELECT pg_reload_conf()");
  testing::WaitForValue(*source, "SHOW synchronous_standby_names", "ghost_standby");

  auto app = testing::ConnectAsApp(*source);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  ASSERT_EQ(PQsendQuery(app->raw(), "INSERT INTO t VALUES (7, 'waiting for sync ack')"), 1);
  testing::WaitForValue(*source,
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep' "
                        "AND pid = " +
                            std::to_string(app->BackendPid()),
                        "1");

  auto platform = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  PgConnection orch = source->Connect();
  auto report = platform->Fence(orch, testing::FenceAs("postgres"), Clock::Real());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->terminated_backends, 1);
  while (PGresult* r = PQgetResult(app->raw())) PQclear(r);  // the session's end

  // The commit was in the source's WAL before the wait: it is on the source and the target.
  EXPECT_EQ(*orch.QueryValue("SELECT v FROM t WHERE id = 7"), "waiting for sync ack");
  auto final_lsn = CurrentWalLsn(orch);
  ASSERT_TRUE(final_lsn.ok());
  PgConnection tconn = target->Connect();
  ASSERT_TRUE(WaitForReplay(tconn, *final_lsn, std::chrono::seconds(30), Clock::Real()).ok());
  EXPECT_EQ(target->Value("SELECT v FROM t WHERE id = 7"), "waiting for sync ack");
  ASSERT_TRUE(platform->Promote(tconn, std::chrono::seconds(30), Clock::Real()).ok());
  EXPECT_EQ(target->Value("SELECT v FROM t WHERE id = 7"), "waiting for sync ack");
}

TEST(LocalFence, UnfenceByANewPlatformAfterACrashRestoresTheSourceExactly) {
  auto source = PgCluster::Primary();
  testing::CreateAppSchema(*source);
  auto target = PgCluster::ReplicaOf(*source);
  const std::string hba_before = testing::HbaOf(*source);
  {
    auto first = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
    PgConnection orch = source->Connect();
    ASSERT_TRUE(first->Fence(orch, testing::FenceAs("postgres"), Clock::Real()).ok());
    // A second fence (an orchestrator retrying) must not take the fenced file for the original.
    ASSERT_TRUE(first->Fence(orch, testing::FenceAs("postgres"), Clock::Real()).ok());
    EXPECT_NE(testing::HbaOf(*source), hba_before);
  }  // the orchestrator "dies": its platform object and connection are gone

  auto second = MakeLocalPlatform(source->data_dir(), target->data_dir(), PgCluster::kPassword);
  PgConnection orch = source->Connect();  // starts read-only, like every new session
  Status st = second->Unfence(orch, testing::FenceAs("postgres"));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(testing::HbaOf(*source), hba_before);
  EXPECT_FALSE(fs::exists(source->data_dir() + "/" + kHbaBackupName));
  auto app = testing::ConnectAsApp(*source);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_EQ(*app->QueryValue("SHOW default_transaction_read_only"), "off");
  EXPECT_TRUE(app->Exec("INSERT INTO t VALUES (1, 'after unfence')").ok());
  // And unfencing an unfenced source is a no-op.
  EXPECT_TRUE(second->Unfence(orch, testing::FenceAs("postgres")).ok());
  EXPECT_EQ(testing::HbaOf(*source), hba_before);
}

TEST(LocalFence, BadInputIsRejectedAndChangesNothing) {
  auto source = PgCluster::Primary();
  auto other = PgCluster::Primary();
  const std::string hba_before = testing::HbaOf(*source);
  auto platform = MakeLocalPlatform(source->data_dir(), "/nonexistent", PgCluster::kPassword);

  PgConnection orch = source->Connect();
  auto wrong_role = platform->Fence(orch, testing::FenceAs("someone_else"), Clock::Real());
  ASSERT_FALSE(wrong_role.ok());
  EXPECT_EQ(wrong_role.status().code(), Code::kInvalidArgument);
  EXPECT_NE(wrong_role.status().message().find("orchestrator_user"), std::string::npos);

  PgConnection elsewhere = other->Connect();  // a server whose pg_hba.conf this is not
  auto wrong_server = platform->Fence(elsewhere, testing::FenceAs("postgres"), Clock::Real());
  ASSERT_FALSE(wrong_server.ok());
  EXPECT_EQ(wrong_server.status().code(), Code::kInvalidArgument);
  EXPECT_NE(wrong_server.status().message().find(source->data_dir()), std::string::npos);

  EXPECT_EQ(testing::HbaOf(*source), hba_before);
  EXPECT_EQ(testing::HbaOf(*other), testing::HbaOf(*source));
  EXPECT_EQ(source->Value("SHOW default_transaction_read_only"), "off");
  EXPECT_EQ(other->Value("SHOW default_transaction_read_only"), "off");
}

}  // namespace
}  // namespace pgshift
