// RunChecks against real servers: a healthy replica passes, and each failing condition is
// made to happen for real and gives its specific verdict.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "checks/check.h"
#include "fixture/pg_cluster.h"
#include "platform/port_reservation.h"

namespace pgshift {
namespace {

using testing::PgCluster;

CheckOptions ShortWindow() {
  CheckOptions o;
  o.window = std::chrono::milliseconds(1500);
  o.sample_interval = std::chrono::milliseconds(250);
  return o;
}

CheckReport Check(const ConnInfo& source, const ConnInfo& target,
                  const CheckOptions& o = ShortWindow()) {
  auto r = RunChecks(source, target, o, Clock::Real());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : CheckReport{};
}

ConnInfo As(const PgCluster& c, const std::string& role) {
  return ConnInfo::Parse(c.ConnString(), role).value();
}

const CheckResult& Get(const CheckReport& report, std::string_view name) {
  const CheckResult* r = report.Find(name);
  if (!r)
    throw std::runtime_error("no check named " + std::string(name) + " in " +
                             report.ToJson().dump());
  return *r;
}

TEST(RunChecks, HealthyReplicaPassesEverything) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  source->Sql("CREATE TABLE t (id int primary key, v text)");
  source->Sql("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
  source->WaitReplayed(*target);

  CheckReport report = Check(As(*source, "source"), As(*target, "target"));
  for (const char* name :
       {"connectivity", "privileges", "replica_identity", "major_version", "hot_standby_parameters",
        "wal_level", "shared_preload_libraries", "settings_diff", "extension_parity", "slot_health",
        "wal_rates", "replication_lag"}) {
    EXPECT_EQ(Get(report, name).verdict, Verdict::kPass)
        << name << ": " << Get(report, name).evidence.dump() << " " << Get(report, name).advice;
  }
  EXPECT_FALSE(report.HasFailure());
  const CheckResult& lag = Get(report, "replication_lag");
  EXPECT_GE(lag.evidence["samples"].get<int>(), 6);  // 1.5 s every 0.25 s, both ends included
  EXPECT_FALSE(lag.query.empty());
  EXPECT_EQ(Get(report, "replica_identity").evidence["source_system_identifier"],
            Get(report, "replica_identity").evidence["target_system_identifier"]);
  EXPECT_EQ(Get(report, "replica_identity").evidence["wal_probe"]["outcome"], "found");
}

// A restored snapshot of the source run as a primary keeps the system identifier and the
// timeline; a standby of it passes every structural test and holds other data. Only the WAL
// probe tells them apart.
TEST(RunChecks, StandbyOfACopyOfTheSourceFailsReplicaIdentity) {
  auto source = PgCluster::Primary();
  auto its_standby = PgCluster::ReplicaOf(*source);  // the source streams to someone
  auto copy = PgCluster::CopyOf(*source);
  auto target = PgCluster::ReplicaOf(*copy);
  copy->Sql("CREATE TABLE diverged AS SELECT g, md5(g::text) FROM generate_series(1, 30000) g");
  copy->WaitReplayed(*target);
  ASSERT_EQ(source->Value("SELECT system_identifier::text FROM pg_control_system()"),
            target->Value("SELECT system_identifier::text FROM pg_control_system()"));

  CheckOptions o = ShortWindow();
  o.probe_timeout = std::chrono::milliseconds(1000);
  CheckReport report = Check(As(*source, "source"), As(*target, "target"), o);
  const CheckResult& id = Get(report, "replica_identity");
  EXPECT_EQ(id.verdict, Verdict::kFail) << id.evidence.dump();
  const std::string outcome = id.evidence["wal_probe"]["outcome"];
  EXPECT_TRUE(outcome == "not_found" || outcome == "not_received") << id.evidence.dump();
  EXPECT_EQ(id.evidence["source_timeline"], id.evidence["target_timeline"]);
  EXPECT_TRUE(report.HasFailure());
}

TEST(RunChecks, IndependentClusterFailsReplicaIdentity) {
  auto source = PgCluster::Primary();
  auto other = PgCluster::Primary();
  CheckReport report = Check(As(*source, "source"), As(*other, "target"));
  const CheckResult& id = Get(report, "replica_identity");
  EXPECT_EQ(id.verdict, Verdict::kFail);
  EXPECT_NE(id.evidence["problem"].get<std::string>().find("independent cluster"),
            std::string::npos);
  EXPECT_NE(id.evidence["source_system_identifier"], id.evidence["target_system_identifier"]);
  // Not a standby: nothing is replayed, so the window cannot pass either.
  EXPECT_EQ(Get(report, "replication_lag").verdict, Verdict::kFail);
  EXPECT_TRUE(report.HasFailure());
}

TEST(RunChecks, StaleSlotsAreNamedWithTheWalTheyRetain) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  // Slots nobody consumes: a physical one reserving WAL now and a logical one.
  source->Sql("SELECT pg_create_physical_replication_slot('forgotten_standby', true)");
  source->Sql("SELECT pg_create_logical_replication_slot('abandoned_cdc', 'test_decoding')");
  source->Sql("CREATE TABLE filler (id int, v text)");
  source->Sql("INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 30000) g");
  std::string held = source->Value(
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
      "FROM pg_replication_slots WHERE slot_name = 'forgotten_standby'");
  ASSERT_GT(std::stoull(held), 2u * 1024 * 1024) << "the insert should have written > 2 MB";
  source->WaitReplayed(*target);

  CheckOptions o = ShortWindow();
  o.stale_slot_bytes = 2 * 1024 * 1024;
  CheckReport report = Check(As(*source, "source"), As(*target, "target"), o);
  const CheckResult& slots = Get(report, "slot_health");
  EXPECT_EQ(slots.verdict, Verdict::kWarn) << slots.evidence.dump();
  bool saw_physical = false;
  bool saw_logical = false;
  for (const auto& s : slots.evidence["slots"]) {
    if (s["slot"] == "forgotten_standby") {
      saw_physical = true;
      EXPECT_EQ(s["verdict"], "warn");
      EXPECT_GE(s["retained_bytes"].get<uint64_t>(), std::stoull(held));
    }
    if (s["slot"] == "abandoned_cdc") {
      saw_logical = true;
      EXPECT_EQ(s["verdict"], "warn");
      EXPECT_EQ(s["type"], "logical");
    }
  }
  EXPECT_TRUE(saw_physical && saw_logical) << slots.evidence.dump();
  EXPECT_NE(slots.advice.find("forgotten_standby"), std::string::npos);
  EXPECT_NE(slots.advice.find("abandoned_cdc"), std::string::npos);
  // Both servers run wal_level=logical, so the logical slot is recreatable on the target.
  EXPECT_EQ(Get(report, "wal_level").verdict, Verdict::kPass);
}

TEST(RunChecks, SlotThatLostItsWalFails) {
  // max_slot_wal_keep_size lets a checkpoint remove WAL a slot still needs.
  auto source = PgCluster::Primary({{"max_slot_wal_keep_size", "1MB"}, {"wal_keep_size", "0"}});
  source->Sql("SELECT pg_create_physical_replication_slot('left_behind', true)");
  source->Sql("CREATE TABLE filler (id int)");
  for (int i = 0; i < 4; ++i) {
    source->Sql("INSERT INTO filler SELECT generate_series(1, 1000)");
    source->Sql("SELECT pg_switch_wal()");
  }
  source->Sql("CHECKPOINT");
  ASSERT_EQ(source->Value("SELECT wal_status FROM pg_replication_slots"), "lost");
  // The source judged against itself: slot health depends on the source alone.
  CheckReport report = Check(As(*source, "source"), As(*source, "target"));
  const CheckResult& slots = Get(report, "slot_health");
  EXPECT_EQ(slots.verdict, Verdict::kFail) << slots.evidence.dump();
  EXPECT_EQ(slots.evidence["slots"][0]["wal_status"], "lost");
  EXPECT_NE(slots.advice.find("pg_drop_replication_slot('left_behind')"), std::string::npos);
}

TEST(RunChecks, SourceRaisedMaxConnectionsAboveTheTargetFails) {
  // A standby cannot even start with max_connections below its primary's, so the realistic
  // way to get there is the everyday one: someone raises max_connections on the primary
  // after its replica was built. Since PostgreSQL 14 the standby stays up (replay pauses when
  // it reaches the parameter change) with the lower value, and the migration must not go on.
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  ASSERT_EQ(target->Value("SHOW max_connections"), "100");
  source->Sql("ALTER SYSTEM SET max_connections = 150");
  ASSERT_TRUE(source->instance().Stop().ok());
  ASSERT_TRUE(source->instance().Start().ok());
  ASSERT_EQ(source->Value("SHOW max_connections"), "150");

  CheckReport report = Check(As(*source, "source"), As(*target, "target"));
  const CheckResult& hs = Get(report, "hot_standby_parameters");
  EXPECT_EQ(hs.verdict, Verdict::kFail) << hs.evidence.dump();
  ASSERT_EQ(hs.evidence["too_low_on_target"].size(), 1u) << hs.evidence.dump();
  EXPECT_EQ(hs.evidence["too_low_on_target"][0]["setting"], "max_connections");
  EXPECT_EQ(hs.evidence["too_low_on_target"][0]["source"], "150");
  EXPECT_EQ(hs.evidence["too_low_on_target"][0]["target"], "100");
  EXPECT_NE(hs.advice.find("ALTER SYSTEM SET max_connections = 150 on the target"),
            std::string::npos);
}

TEST(RunChecks, PausedReplayFailsLagAndWarnsOnRates) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  source->Sql("CREATE TABLE filler (id int, v text)");
  source->WaitReplayed(*target);
  // The target stops replaying while the source keeps writing through the whole window: the
  // replica falls behind for real.
  target->Sql("SELECT pg_wal_replay_pause()");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    PgConnection c = source->Connect();
    while (!stop) {
      (void)c.Exec("INSERT INTO filler SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g");
    }
  });
  CheckOptions o = ShortWindow();
  o.max_lag_bytes = 1024 * 1024;
  CheckReport report = Check(As(*source, "source"), As(*target, "target"), o);
  stop = true;
  writer.join();

  const CheckResult& lag = Get(report, "replication_lag");
  EXPECT_EQ(lag.verdict, Verdict::kFail) << lag.evidence.dump();
  EXPECT_GT(lag.evidence["peak_bytes"].get<uint64_t>(), 1024u * 1024);
  EXPECT_GT(lag.evidence["samples_over_threshold"].get<int>(), 0);
  const CheckResult& rates = Get(report, "wal_rates");
  EXPECT_EQ(rates.verdict, Verdict::kWarn) << rates.evidence.dump();
  EXPECT_EQ(rates.evidence["replayed_bytes"], 0);
  EXPECT_GT(rates.evidence["generated_bytes"].get<uint64_t>(), 1024u * 1024);
}

TEST(RunChecks, TargetConfiguredDifferentlyFailsPreloadAndWarnsOnSettings) {
  // The target's own configuration (pgshift.conf in its data directory) drops a preloaded
  // library and gives work_mem another value: both servers really run with them.
  auto source = PgCluster::Primary({{"shared_preload_libraries", "pg_stat_statements"}});
  auto target =
      PgCluster::ReplicaOf(*source, {{"shared_preload_libraries", ""}, {"work_mem", "64MB"}});
  ASSERT_EQ(target->Value("SHOW work_mem"), "64MB");
  CheckReport report = Check(As(*source, "source"), As(*target, "target"));

  const CheckResult& spl = Get(report, "shared_preload_libraries");
  EXPECT_EQ(spl.verdict, Verdict::kFail) << spl.evidence.dump();
  EXPECT_EQ(spl.evidence["missing_on_target"], nlohmann::json({"pg_stat_statements"}));
  EXPECT_NE(spl.advice.find("shared_preload_libraries = 'pg_stat_statements'"), std::string::npos);

  const CheckResult& diff = Get(report, "settings_diff");
  EXPECT_EQ(diff.verdict, Verdict::kWarn) << diff.evidence.dump();
  bool saw_work_mem = false;
  for (const auto& d : diff.evidence["differ"]) {
    if (d["setting"] != "work_mem") continue;
    saw_work_mem = true;
    EXPECT_EQ(d["source"], "4096");
    EXPECT_EQ(d["target"], "65536");
  }
  EXPECT_TRUE(saw_work_mem) << diff.evidence.dump();
  // Nothing else about the replica is wrong.
  EXPECT_EQ(Get(report, "replica_identity").verdict, Verdict::kPass);
}

TEST(RunChecks, UnreachableTargetFailsConnectivityNamingIt) {
  auto source = PgCluster::Primary();
  auto port = ReservePort();  // reserved, nothing listens there
  ASSERT_TRUE(port.ok());
  auto target = ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(*port) +
                                    " user=postgres password=target-secret-xyz connect_timeout=2",
                                "target")
                    .value();
  CheckReport report = Check(As(*source, "source"), target);
  const CheckResult& c = Get(report, "connectivity");
  EXPECT_EQ(c.verdict, Verdict::kFail);
  EXPECT_EQ(c.evidence["source"]["ok"], true);
  EXPECT_EQ(c.evidence["target"]["ok"], false);
  EXPECT_EQ(c.evidence["target"]["code"], "unavailable");
  EXPECT_NE(c.evidence["target"]["endpoint"].get<std::string>().find(std::to_string(*port)),
            std::string::npos);
  EXPECT_EQ(report.ToJson().dump().find("target-secret-xyz"), std::string::npos);
}

TEST(RunChecks, WrongPasswordFailsConnectivityWithoutShowingIt) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  ConnInfo wrong = As(*target, "target").With("password", "wrong-password-abc");
  CheckReport report = Check(As(*source, "source"), wrong);
  const CheckResult& c = Get(report, "connectivity");
  EXPECT_EQ(c.verdict, Verdict::kFail);
  EXPECT_EQ(c.evidence["target"]["code"], "unauthenticated");
  EXPECT_NE(c.advice.find("target"), std::string::npos);
  EXPECT_EQ(report.ToJson().dump().find("wrong-password-abc"), std::string::npos);
  EXPECT_EQ(report.ToJson().dump().find(PgCluster::kPassword), std::string::npos);
}

TEST(RunChecks, RoleWithoutMonitoringPrivilegesFails) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  source->Sql("CREATE ROLE app_user LOGIN PASSWORD 'app-user-pw'");
  source->WaitReplayed(*target);
  ConnInfo s = source->ConnAs("app_user", "app-user-pw");
  ConnInfo t = ConnInfo::Parse(target->ConnAs("app_user", "app-user-pw").raw(), "target").value();
  CheckReport report = Check(ConnInfo::Parse(s.raw(), "source").value(), t);
  const CheckResult& p = Get(report, "privileges");
  EXPECT_EQ(p.verdict, Verdict::kFail) << report.ToJson().dump();
  EXPECT_NE(p.advice.find("source"), std::string::npos) << p.advice;
  EXPECT_NE(p.advice.find("pg_monitor"), std::string::npos) << p.advice;

  // Granting pg_monitor is what the advice says, and it is enough to read the facts.
  source->Sql("GRANT pg_monitor TO app_user");
  source->WaitReplayed(*target);
  report = Check(ConnInfo::Parse(s.raw(), "source").value(), t);
  EXPECT_EQ(Get(report, "privileges").verdict, Verdict::kWarn) << report.ToJson().dump();
  // Reading the target's WAL for the probe is one grant more, and the advice names it.
  const CheckResult& id = Get(report, "replica_identity");
  EXPECT_EQ(id.verdict, Verdict::kWarn) << report.ToJson().dump();
  EXPECT_EQ(id.evidence["wal_probe"]["outcome"], "not_run");
  EXPECT_NE(id.advice.find("pg_read_binary_file"), std::string::npos) << id.advice;
  source->Sql(
      "GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO app_user");
  source->WaitReplayed(*target);
  report = Check(ConnInfo::Parse(s.raw(), "source").value(), t);
  EXPECT_EQ(Get(report, "replica_identity").verdict, Verdict::kPass) << report.ToJson().dump();
}

TEST(RunChecks, MalformedOptionsAreAnError) {
  auto ci = ConnInfo::Parse("host=127.0.0.1 port=1", "source").value();
  CheckOptions o;
  o.sample_interval = std::chrono::milliseconds(0);
  auto r = RunChecks(ci, ci, o, Clock::Real());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pgshift
