// MigrationFacts: round trips, today's record shape (no version), no data, malformed values and
// unknown keys.
#include "migration/migration_facts.h"

#include <gtest/gtest.h>

namespace pgshift {
namespace {

using json = nlohmann::json;

// A record as the steps wrote it before MigrationFacts existed (no "version"): a migration that
// was promoted, failed in verify waiting for a CDC consumer, then rolled back keeping the
// target's writes. Keys and shapes copied from the step files' patches.
const char* kTodaysRecord = R"({
  "phase_started": {"replicating": 1700000001.5, "validating": 1700000010.25,
                    "ready_for_cutover": 1700000020.0, "pausing": 1700000021.0,
                    "fencing": 1700000021.1, "draining": 1700000021.2,
                    "promoting": 1700000021.3, "slot_handover": 1700000021.4,
                    "switching": 1700000021.5, "verifying": 1700000021.6,
                    "failed": 1700000100.0, "rolling_back": 1700000200.0},
  "validate_started_at": 1700000010.5,
  "checks": {"checks": [{"name": "replication_lag", "verdict": "pass", "advice": ""}]},
  "baseline": {"commits_per_s": 120.5, "rollbacks_per_s": 0.25, "mean_statement_ms": 0.8},
  "route_version": 1700000021000,
  "final_lsn": "0/3000148",
  "cdc_fence_lsn": "0/3000110",
  "slots": [{"name": "orders_cdc", "plugin": "test_decoding", "database": "app",
             "two_phase": false, "temporary": false, "active": true, "active_pid": 4242,
             "confirmed_flush_lsn": "0/30000D8", "restart_lsn": "0/30000A0"}],
  "fence": {"terminated_backends": 2, "held_by_router": 3, "prepared_transactions": 0,
            "layers": ["hba", "terminate", "read_only"],
            "layer_ms": {"hba": 4, "terminate": 1, "read_only": 3, "cdc_fence_point": 1}},
  "snapshot_held": true,
  "promote_ms": 212,
  "slots_on_target": [{"name": "orders_cdc", "plugin": "test_decoding", "database": "app",
                       "two_phase": false, "temporary": false, "active": false,
                       "active_pid": null, "confirmed_flush_lsn": "0/3000200",
                       "restart_lsn": "0/30001C8"}],
  "switched_at": 1700000021.55,
  "verify": {"write_ok": true, "data": {"skipped": "not compared"},
             "health": {"baseline": {"commits_per_s": 1.0, "rollbacks_per_s": 0.0},
                        "target": {"commits_per_s": 1.0, "rollbacks_per_s": 0.0},
                        "warnings": []}},
  "cdc_pending": true,
  "failed_in": "verifying",
  "rollback_from": "failed",
  "rollback_reason": "operator requested rollback",
  "rollback_after_promotion": true,
  "rollback_route_version": 1700000200001,
  "rollback_rewound": true,
  "rollback_kept_target_writes": true,
  "rollback_keeps_target_writes": true
})";

MigrationFacts Full() {
  MigrationFacts f;
  f.phase_started = {{Phase::kReplicating, 1.5}, {Phase::kPromoting, 9.25}};
  f.validate_started_at = 2.0;
  f.checks = json{{"checks", json::array()}};
  f.baseline = HealthRates{10, 0.5, 1.25};
  f.route_version = 1700000021000;
  f.final_lsn = *Lsn::Parse("1/A0");
  f.cdc_fence_lsn = *Lsn::Parse("1/80");
  RecordedSlot s{
      "s1", "test_decoding", "app", true, false, true, 77, *Lsn::Parse("1/10"), *Lsn::Parse("1/8")};
  f.slots = std::vector<RecordedSlot>{s};
  s.active = false;
  s.active_pid.reset();
  f.slots_on_target = std::vector<RecordedSlot>{s};
  f.fence = FenceRecord{1, 2, 3, {"hba", "read_only"}, {{"hba", 5}}};
  f.snapshot_held = false;
  f.promote_ms = 300;
  f.switched_at = 11.5;
  f.verify = json{{"write_ok", true}};
  f.cdc_pending = true;
  f.failed_in = Phase::kVerifying;
  f.rollback_from = Phase::kFailed;
  f.rollback_reason = "why";
  f.rollback_after_promotion = true;
  f.rollback_route_version = 1700000021001;
  f.rollback_rewound = true;
  f.rollback_kept_target_writes = true;
  f.rollback_keeps_target_writes = true;
  return f;
}

TEST(MigrationFacts, FullValueRoundTrips) {
  MigrationFacts f = Full();
  json j = f.ToJson();
  EXPECT_EQ(j["version"], kMigrationFactsVersion);
  auto back = MigrationFacts::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, f);
  // Through text, as the store keeps it.
  auto parsed = MigrationFacts::FromJson(json::parse(j.dump()));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, f);
}

TEST(MigrationFacts, ReadsTodaysRecordWithoutVersion) {
  json today = json::parse(kTodaysRecord);
  auto f = MigrationFacts::FromJson(today);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->version, kMigrationFactsVersion);
  EXPECT_EQ(f->phase_started.at(Phase::kPromoting), 1700000021.3);
  EXPECT_EQ(f->phase_started.size(), 12u);
  EXPECT_EQ(*f->validate_started_at, 1700000010.5);
  EXPECT_EQ(f->baseline->commits_per_s, 120.5);
  EXPECT_EQ(*f->baseline->mean_statement_ms, 0.8);
  EXPECT_EQ(*f->route_version, 1700000021000u);
  EXPECT_EQ(f->final_lsn->ToString(), "0/3000148");
  EXPECT_EQ(f->cdc_fence_lsn->ToString(), "0/3000110");
  ASSERT_EQ(f->slots->size(), 1u);
  EXPECT_EQ((*f->slots)[0].name, "orders_cdc");
  EXPECT_EQ((*f->slots)[0].active_pid, 4242);
  EXPECT_EQ((*f->slots)[0].confirmed_flush_lsn.ToString(), "0/30000D8");
  EXPECT_FALSE((*f->slots_on_target)[0].active_pid.has_value());
  EXPECT_EQ(f->fence->held_by_router, 3);
  EXPECT_EQ(f->fence->layer_ms.at("cdc_fence_point"), 1);
  EXPECT_EQ(f->snapshot_held, true);
  EXPECT_EQ(f->promote_ms, 212);
  EXPECT_EQ(*f->switched_at, 1700000021.55);
  EXPECT_EQ((*f->verify)["write_ok"], true);
  EXPECT_TRUE(f->cdc_pending);
  EXPECT_EQ(f->failed_in, Phase::kVerifying);
  EXPECT_EQ(f->rollback_from, Phase::kFailed);
  EXPECT_EQ(f->rollback_reason, "operator requested rollback");
  EXPECT_EQ(f->rollback_after_promotion, true);
  EXPECT_EQ(f->rollback_route_version, 1700000200001u);
  EXPECT_TRUE(f->rollback_rewound);
  EXPECT_TRUE(f->rollback_kept_target_writes);
  EXPECT_TRUE(f->rollback_keeps_target_writes);
  EXPECT_TRUE(f->unknown.empty());
  // Written back, it is today's record plus the version: nothing renamed, nothing lost.
  json expected = today;
  expected["version"] = kMigrationFactsVersion;
  EXPECT_EQ(f->ToJson(), expected);
  EXPECT_EQ(f->MergePatchFrom(today), json({{"version", kMigrationFactsVersion}}));
}

TEST(MigrationFacts, ReadsARecordWithNoData) {
  for (const json& none : {json(), json::object()}) {
    auto f = MigrationFacts::FromJson(none);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(*f, MigrationFacts{});
    EXPECT_TRUE(f->phase_started.empty());
    EXPECT_FALSE(f->final_lsn.has_value());
    EXPECT_FALSE(f->slots.has_value());
    EXPECT_FALSE(f->failed_in.has_value());
    EXPECT_FALSE(f->cdc_pending);
  }
}

TEST(MigrationFacts, ANullValueReadsAsAbsent) {
  auto f = MigrationFacts::FromJson(json{{"failed_in", nullptr}, {"cdc_pending", nullptr}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->failed_in.has_value());
  EXPECT_FALSE(f->cdc_pending);
}

TEST(MigrationFacts, MalformedValuesAreRejectedNamingTheKey) {
  struct Case {
    json data;
    std::string key;
  } cases[] = {
      {{{"final_lsn", "not-an-lsn"}}, "'final_lsn'"},
      {{{"final_lsn", 42}}, "'final_lsn'"},
      {{{"route_version", "12"}}, "'route_version'"},
      {{{"route_version", -1}}, "'route_version'"},
      {{{"failed_in", "nowhere"}}, "'failed_in'"},
      {{{"rollback_from", 3}}, "'rollback_from'"},
      {{{"cdc_pending", "yes"}}, "'cdc_pending'"},
      {{{"validate_started_at", "soon"}}, "'validate_started_at'"},
      {{{"phase_started", {{"promoting", "x"}}}}, "'phase_started.promoting'"},
      {{{"phase_started", {{"teleporting", 1.0}}}}, "'phase_started.teleporting'"},
      {{{"slots", json::object()}}, "'slots'"},
      {{{"slots", {{{"name", "Bad-Name"}, {"plugin", "p"}, {"database", "d"}}}}},
       "'slots[0].name'"},
      {{{"slots", {{{"name", "ok"}, {"database", "d"}}}}}, "'slots[0].plugin'"},
      {{{"slots_on_target",
         {{{"name", "ok"}, {"plugin", "p"}, {"database", "d"}, {"restart_lsn", "zz"}}}}},
       "'slots_on_target[0].restart_lsn'"},
      {{{"fence", {{"layer_ms", {{"hba", "fast"}}}}}}, "'fence.layer_ms.hba'"},
      {{{"baseline", {{"commits_per_s", "many"}}}}, "'baseline.commits_per_s'"},
      {{{"checks", "all good"}}, "'checks'"},
      {{{"version", "1"}}, "'version'"},
  };
  for (const auto& c : cases) {
    auto f = MigrationFacts::FromJson(c.data);
    ASSERT_FALSE(f.ok()) << c.data.dump();
    EXPECT_EQ(f.status().code(), Code::kInvalidArgument) << c.data.dump();
    EXPECT_NE(f.status().message().find(c.key), std::string::npos)
        << c.data.dump() << ": " << f.status().message();
  }
  EXPECT_FALSE(MigrationFacts::FromJson(json::array()).ok());
}

TEST(MigrationFacts, ANewerVersionIsRefused) {
  auto f = MigrationFacts::FromJson(json{{"version", kMigrationFactsVersion + 1}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(f.status().message().find("newer"), std::string::npos);
}

TEST(MigrationFacts, UnknownKeysAreKeptAndWrittenBack) {
  json data = {{"version", 1}, {"final_lsn", "0/10"}, {"from_the_future", {{"a", 1}}}};
  auto f = MigrationFacts::FromJson(data);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->unknown, json({{"from_the_future", {{"a", 1}}}}));
  EXPECT_EQ(f->ToJson(), data);
  // A change of a known fact leaves the unknown key out of the patch (the store keeps it).
  MigrationFacts next = *f;
  next.promote_ms = 5;
  EXPECT_EQ(next.MergePatchFrom(data), json({{"promote_ms", 5}}));
}

TEST(MigrationFacts, MergePatchHoldsOnlyTheChangeAndNullsForRemovals) {
  json stored = json::parse(kTodaysRecord);
  stored["version"] = kMigrationFactsVersion;
  auto f = MigrationFacts::FromJson(stored);
  ASSERT_TRUE(f.ok()) << f.status().message();
  MigrationFacts next = *f;
  next.failed_in.reset();
  next.cdc_pending = false;
  next.validate_started_at.reset();
  next.phase_started[Phase::kVerifying] = 5.0;
  json patch = next.MergePatchFrom(stored);
  EXPECT_EQ(patch, json({{"failed_in", nullptr},
                         {"cdc_pending", nullptr},
                         {"validate_started_at", nullptr},
                         {"phase_started", {{"verifying", 5.0}}}}));
  json merged = stored;
  merged.merge_patch(patch);
  EXPECT_EQ(merged, next.ToJson());
  EXPECT_TRUE(f->MergePatchFrom(stored).empty());
}

TEST(MigrationFacts, PhaseNamesParseBack) {
  for (int v = 1; v <= 15; ++v) {
    Phase p, back;
    ASSERT_TRUE(ParsePhaseValue(v, &p));
    ASSERT_TRUE(ParsePhaseName(PhaseName(p), &back));
    EXPECT_EQ(back, p);
  }
  Phase p;
  EXPECT_FALSE(ParsePhaseName("unknown", &p));
}

}  // namespace
}  // namespace pgshift
