// The fact-based checks on hand-built ClusterFacts: each failing condition and its evidence.
#include <gtest/gtest.h>

#include "checks/check_functions.h"

namespace pgshift {
namespace {

// A primary and its healthy streaming standby.
ClusterFacts Source() {
  ClusterFacts f;
  f.role = "source";
  f.label = "source (127.0.0.1:5432)";
  f.system_identifier = "7300000000000000001";
  f.server_version_num = 150008;
  f.server_version = "15.8";
  f.timeline = 1;
  f.user = "postgres";
  f.superuser = true;
  for (auto [k, v] : std::map<std::string, std::string>{{"max_connections", "100"},
                                                        {"max_worker_processes", "8"},
                                                        {"max_wal_senders", "10"},
                                                        {"max_prepared_transactions", "0"},
                                                        {"max_locks_per_transaction", "64"},
                                                        {"wal_level", "logical"},
                                                        {"shared_preload_libraries", ""},
                                                        {"port", "5432"},
                                                        {"work_mem", "4096"}}) {
    f.settings[k] = SettingFact{v, ""};
  }
  f.available_extension_versions = {{"plpgsql", "1.0"}, {"hstore", "1.8"}};
  f.installed_extensions = {{"postgres", "plpgsql", "1.0"}, {"app", "hstore", "1.8"}};
  f.wal_senders = {{"walreceiver", "127.0.0.1", "streaming"}};
  return f;
}

ClusterFacts Target() {
  ClusterFacts f = Source();
  f.role = "target";
  f.label = "target (127.0.0.1:5433)";
  f.in_recovery = true;
  f.settings["port"].value = "5433";
  f.installed_extensions.clear();
  f.wal_senders.clear();
  f.wal_receiver = WalReceiverFact{"streaming", "127.0.0.1", 5432, 1, ""};
  return f;
}

WalProbe Probe(WalProbe::Outcome outcome) {
  return WalProbe{.outcome = outcome,
                  .token_lsn = "0/3000150",
                  .wal_file = "000000010000000000000003",
                  .attempts = 1,
                  .detail = "as the test says"};
}
const WalProbe kFound = Probe(WalProbe::Outcome::kFound);

TEST(ReplicaIdentity, HealthyReplicaPasses) {
  CheckResult r = CheckReplicaIdentity(Source(), Target(), kFound);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.evidence.dump();
  EXPECT_FALSE(r.query.empty());
}

TEST(ReplicaIdentity, IndependentClusterFails) {
  ClusterFacts t = Target();
  t.system_identifier = "7300000000000000999";
  CheckResult r = CheckReplicaIdentity(Source(), t, kFound);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.evidence["problem"].get<std::string>().find("independent"), std::string::npos);
  EXPECT_EQ(r.evidence["target_system_identifier"], "7300000000000000999");
}

TEST(ReplicaIdentity, PromotedTargetFails) {
  ClusterFacts t = Target();
  t.in_recovery = false;
  t.wal_receiver.reset();
  EXPECT_EQ(CheckReplicaIdentity(Source(), t, kFound).verdict, Verdict::kFail);
}

TEST(ReplicaIdentity, NotStreamingFails) {
  ClusterFacts t = Target();
  t.wal_receiver->status = "waiting";
  CheckResult r = CheckReplicaIdentity(Source(), t, kFound);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.evidence["problem"].get<std::string>().find("waiting"), std::string::npos);
}

TEST(ReplicaIdentity, SourceWithoutStreamingSenderFails) {
  ClusterFacts s = Source();
  s.wal_senders.clear();
  EXPECT_EQ(CheckReplicaIdentity(s, Target(), kFound).verdict, Verdict::kFail);
}

// Identity, timeline and streaming all agree, yet the target's WAL is not the source's.
TEST(ReplicaIdentity, TargetHoldingOtherWalFails) {
  CheckResult r = CheckReplicaIdentity(Source(), Target(), Probe(WalProbe::Outcome::kNotFound));
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.evidence["problem"].get<std::string>().find("another cluster"), std::string::npos);
  EXPECT_EQ(r.evidence["wal_probe"]["outcome"], "not_found");
}

TEST(ReplicaIdentity, TargetNeverReceivingTheProbeFails) {
  CheckResult r = CheckReplicaIdentity(Source(), Target(), Probe(WalProbe::Outcome::kNotReceived));
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.evidence["problem"].get<std::string>().find("did not reach"), std::string::npos);
}

TEST(ReplicaIdentity, ProbeThatCouldNotRunWarns) {
  CheckResult r = CheckReplicaIdentity(Source(), Target(), Probe(WalProbe::Outcome::kNotRun));
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_NE(r.advice.find("pg_read_binary_file"), std::string::npos);
}

TEST(ReplicaIdentity, DifferentTimelineFails) {
  ClusterFacts s = Source();
  s.timeline = 2;
  CheckResult r = CheckReplicaIdentity(s, Target(), kFound);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.evidence["problem"].get<std::string>().find("timelines"), std::string::npos);
}

TEST(MajorVersion, MinorDifferencePassesMajorFails) {
  ClusterFacts t = Target();
  t.server_version_num = 150002;
  EXPECT_EQ(CheckMajorVersion(Source(), t).verdict, Verdict::kPass);
  t.server_version_num = 160001;
  CheckResult r = CheckMajorVersion(Source(), t);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.evidence["target_major"], 16);
}

TEST(HotStandbyParameters, LowerOnTargetFailsNamingSettingAndValues) {
  ClusterFacts t = Target();
  EXPECT_EQ(CheckHotStandbyParameters(Source(), t).verdict, Verdict::kPass);
  t.settings["max_connections"].value = "50";
  t.settings["max_locks_per_transaction"].value = "128";  // higher is fine
  CheckResult r = CheckHotStandbyParameters(Source(), t);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  ASSERT_EQ(r.evidence["too_low_on_target"].size(), 1u);
  EXPECT_EQ(r.evidence["too_low_on_target"][0]["setting"], "max_connections");
  EXPECT_EQ(r.evidence["too_low_on_target"][0]["source"], "100");
  EXPECT_EQ(r.evidence["too_low_on_target"][0]["target"], "50");
  EXPECT_NE(r.advice.find("ALTER SYSTEM SET max_connections = 100"), std::string::npos);
}

TEST(WalLevel, ReplicaWithoutLogicalSlotsPasses) {
  ClusterFacts s = Source();
  ClusterFacts t = Target();
  s.settings["wal_level"].value = "replica";
  t.settings["wal_level"].value = "replica";
  EXPECT_EQ(CheckWalLevel(s, t).verdict, Verdict::kPass);
}

TEST(WalLevel, LogicalSlotsNeedLogicalOnTarget) {
  ClusterFacts s = Source();
  ClusterFacts t = Target();
  s.slots.push_back(SlotFact{"cdc", "logical", "test_decoding", "app", true, "reserved", 0});
  t.settings["wal_level"].value = "replica";
  CheckResult r = CheckWalLevel(s, t);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.evidence["source_logical_slots"], 1);
  EXPECT_NE(r.advice.find("wal_level = logical on the target"), std::string::npos);
}

TEST(WalLevel, MinimalSourceFails) {
  ClusterFacts s = Source();
  s.settings["wal_level"].value = "minimal";
  EXPECT_EQ(CheckWalLevel(s, Target()).verdict, Verdict::kFail);
}

TEST(SharedPreloadLibraries, MissingOnTargetFails) {
  ClusterFacts s = Source();
  ClusterFacts t = Target();
  s.settings["shared_preload_libraries"].value = "pg_stat_statements, 'auto_explain'";
  t.settings["shared_preload_libraries"].value = "pg_stat_statements";
  CheckResult r = CheckSharedPreloadLibraries(s, t);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.evidence["missing_on_target"], nlohmann::json({"auto_explain"}));
  t.settings["shared_preload_libraries"].value = "auto_explain,pg_stat_statements,pg_cron";
  EXPECT_EQ(CheckSharedPreloadLibraries(s, t).verdict, Verdict::kPass);
}

TEST(SettingsDiff, IgnoresExpectedDifferencesAndWarnsOnOthers) {
  ClusterFacts t = Target();  // port differs: expected
  EXPECT_EQ(CheckSettingsDiff(Source(), t).verdict, Verdict::kPass);
  t.settings["work_mem"].value = "65536";
  CheckResult r = CheckSettingsDiff(Source(), t);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  ASSERT_EQ(r.evidence["differ"].size(), 1u);
  EXPECT_EQ(r.evidence["differ"][0]["setting"], "work_mem");
  EXPECT_EQ(r.evidence["differ"][0]["source"], "4096");
  EXPECT_EQ(r.evidence["differ"][0]["target"], "65536");
}

TEST(ExtensionParity, SameVersionsAvailablePass) {
  EXPECT_EQ(CheckExtensionParity(Source(), Target()).verdict, Verdict::kPass);
}

TEST(ExtensionParity, VersionMissingOnTargetFailsNamingDatabaseAndVersions) {
  ClusterFacts t = Target();
  t.available_extension_versions = {{"plpgsql", "1.0"}, {"hstore", "1.7"}};
  CheckResult r = CheckExtensionParity(Source(), t);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  ASSERT_EQ(r.evidence["missing_on_target"].size(), 1u);
  auto m = r.evidence["missing_on_target"][0];
  EXPECT_EQ(m["database"], "app");
  EXPECT_EQ(m["extension"], "hstore");
  EXPECT_EQ(m["version"], "1.8");
  EXPECT_EQ(m["available_on_target"], nlohmann::json({"1.7"}));
}

TEST(ExtensionParity, UnreadableDatabaseWarns) {
  ClusterFacts s = Source();
  s.unreadable_databases = {"secret: permission denied"};
  EXPECT_EQ(CheckExtensionParity(s, Target()).verdict, Verdict::kWarn);
}

TEST(SlotHealth, EachSlotJudged) {
  constexpr uint64_t kMb = 1024 * 1024;
  ClusterFacts s = Source();
  s.slots = {SlotFact{"standby", "physical", "", "", true, "reserved", 1024}};
  EXPECT_EQ(CheckSlotHealth(s, 64 * kMb).verdict, Verdict::kPass);

  s.slots.push_back(SlotFact{"old_standby", "physical", "", "", false, "extended", 100 * kMb});
  CheckResult r = CheckSlotHealth(s, 64 * kMb);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_EQ(r.evidence["slots"][1]["slot"], "old_standby");
  EXPECT_EQ(r.evidence["slots"][1]["retained_bytes"], 100 * kMb);
  EXPECT_NE(r.advice.find("old_standby"), std::string::npos);
  EXPECT_NE(r.advice.find("100 MB"), std::string::npos);

  s.slots = {SlotFact{"cdc", "logical", "pgoutput", "app", false, "reserved", 10}};
  EXPECT_EQ(CheckSlotHealth(s, 64 * kMb).verdict, Verdict::kWarn);

  s.slots = {SlotFact{"far", "physical", "", "", true, "unreserved", std::nullopt}};
  EXPECT_EQ(CheckSlotHealth(s, 64 * kMb).verdict, Verdict::kWarn);

  s.slots.push_back(SlotFact{"gone", "logical", "pgoutput", "app", false, "lost", std::nullopt});
  r = CheckSlotHealth(s, 64 * kMb);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.evidence["slots"][1]["verdict"], "fail");
}

TEST(Privileges, NeedSuperuserOrPgMonitor) {
  ClusterFacts s = Source();
  ClusterFacts t = Target();
  EXPECT_EQ(CheckPrivileges(s, t).verdict, Verdict::kPass);
  t.superuser = false;
  t.pg_monitor = true;
  t.user = "monitor";
  EXPECT_EQ(CheckPrivileges(s, t).verdict, Verdict::kWarn);
  t.pg_monitor = false;
  CheckResult r = CheckPrivileges(s, t);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.advice.find("target: GRANT pg_monitor TO monitor"), std::string::npos);
}

TEST(Connectivity, NamesTheEndpointThatFailed) {
  CheckResult r = CheckConnectivity(
      {{"source", "source (a:1)", Status::Ok()},
       {"target", "target (b:2)", Unauthenticated("target (b:2): authentication failed")}});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.evidence["source"]["ok"], true);
  EXPECT_EQ(r.evidence["target"]["ok"], false);
  EXPECT_EQ(r.evidence["target"]["code"], "unauthenticated");
  EXPECT_EQ(r.advice.rfind("target:", 0), 0u);
}

TEST(CheckReport, JsonSummaryCountsVerdicts) {
  CheckReport report;
  report.checks = {CheckResult{.name = "a"}, CheckResult{.name = "b", .verdict = Verdict::kWarn},
                   CheckResult{.name = "c", .verdict = Verdict::kFail}};
  nlohmann::json j = report.ToJson();
  EXPECT_EQ(j["summary"]["fail"], 1);
  EXPECT_EQ(j["summary"]["warn"], 1);
  EXPECT_EQ(j["summary"]["verdict"], "fail");
  EXPECT_EQ(j["checks"][1]["verdict"], "warn");
  EXPECT_TRUE(report.HasFailure());
  EXPECT_EQ(report.Find("b")->verdict, Verdict::kWarn);
  EXPECT_EQ(report.Find("zz"), nullptr);
}

}  // namespace
}  // namespace pgshift
