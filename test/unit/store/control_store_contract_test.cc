// The ControlStore contract, run against every implementation (a typed suite like
// StoreContract: a PostgreSQL store joins by adding its factory to ControlStoreTypes):
// clusters (unique names, team filter), tokens by hash, the audit log (newest first, limit,
// team filter), migration notes in order, control objects merged by RFC 7386, campaigns, and
// SQLite files of schema versions 3 and 4 migrated forward with their rows kept.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "fixture/temp_dir.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"

namespace pgshift {
namespace {

struct SqliteControlFactory {
  testing::TempDir dir;
  std::unique_ptr<ControlStore> Make() {
    auto s = SqliteStore::Open(dir.path() + "/c.db");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::unique_ptr<ControlStore>(std::move(s).value()) : nullptr;
  }
};

struct MemoryControlFactory {
  std::unique_ptr<ControlStore> Make() { return std::make_unique<MemoryStore>(); }
};

template <typename F>
class ControlStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_TRUE(store_);
  }
  F factory_;
  std::unique_ptr<ControlStore> store_;
};

using ControlStoreTypes = ::testing::Types<SqliteControlFactory, MemoryControlFactory>;
TYPED_TEST_SUITE(ControlStoreContract, ControlStoreTypes);

ClusterRecord Cluster(const std::string& name, const std::string& team) {
  ClusterRecord c;
  c.name = name;
  c.team = team;
  c.labels = {{"tier", "gold"}};
  c.registration = {{"source", {{"conninfo", "host=a"}, {"password", {{"file", "/p"}}}}}};
  return c;
}

TYPED_TEST(ControlStoreContract, ClustersAreUniqueByNameAndListedByTeam) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.CreateCluster(Cluster("orders", "payments"), 10).ok());
  ASSERT_TRUE(s.CreateCluster(Cluster("index", "search"), 11).ok());
  ASSERT_TRUE(s.CreateCluster(Cluster("billing", "payments"), 12).ok());
  Status dup = s.CreateCluster(Cluster("orders", "search"), 13);
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_EQ(s.GetCluster("orders")->team, "payments");  // the refused write changed nothing

  auto got = s.GetCluster("orders");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->labels["tier"], "gold");
  EXPECT_EQ(got->registration["source"]["password"]["file"], "/p");
  EXPECT_EQ(got->created_at, 10);
  auto missing = s.GetCluster("nope");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);

  auto payments = s.ListClusters("payments");
  ASSERT_TRUE(payments.ok());
  ASSERT_EQ(payments->size(), 2u);
  EXPECT_EQ((*payments)[0].name, "billing");  // by name
  EXPECT_EQ((*payments)[1].name, "orders");
  EXPECT_EQ(s.ListClusters("")->size(), 3u);
  EXPECT_TRUE(s.ListClusters("nobody")->empty());
}

TYPED_TEST(ControlStoreContract, TokensAreFoundByTheirHashOnly) {
  auto& s = *this->store_;
  ApiTokenRecord t{"aa11", "payments", false, "ci", 0};
  ASSERT_TRUE(s.AddToken(t, 20).ok());
  ASSERT_TRUE(s.AddToken({"bb22", "platform", true, "admin", 0}, 21).ok());
  EXPECT_EQ(s.AddToken(t, 22).code(), Code::kAlreadyExists);
  auto found = s.FindToken("aa11");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->team, "payments");
  EXPECT_FALSE(found->platform);
  EXPECT_EQ(found->label, "ci");
  EXPECT_EQ(found->created_at, 20);
  EXPECT_TRUE(s.FindToken("bb22")->platform);
  EXPECT_EQ(s.FindToken("cc33").status().code(), Code::kNotFound);
}

TYPED_TEST(ControlStoreContract, AuditIsNewestFirstWithLimitAndTeamFilter) {
  auto& s = *this->store_;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s.AppendAudit({0, 100.0 + i, "token:a", i % 2 ? "search" : "payments",
                               "migration.start", "migration/m" + std::to_string(i),
                               i == 4 ? "not_found" : "ok", i == 4 ? 404 : 202})
                    .ok());
  }
  auto all = s.ListAudit(10, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].target, "migration/m4");
  EXPECT_EQ((*all)[0].result, "not_found");
  EXPECT_EQ((*all)[0].status, 404);
  EXPECT_EQ((*all)[4].target, "migration/m0");
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  auto two = s.ListAudit(2, "");
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].target, "migration/m3");
  auto search = s.ListAudit(10, "search");
  ASSERT_EQ(search->size(), 2u);
  for (const auto& e : *search) EXPECT_EQ(e.team, "search");
}

TYPED_TEST(ControlStoreContract, NotesKeepTheirOrderPerMigration) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.AppendNote("m1", "window ended without green gates", 50).ok());
  ASSERT_TRUE(s.AppendNote("m2", "other", 51).ok());
  ASSERT_TRUE(s.AppendNote("m1", "armed again", 52).ok());
  auto notes = s.Notes("m1");
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), 2u);
  EXPECT_EQ((*notes)[0].text, "window ended without green gates");
  EXPECT_EQ((*notes)[0].at, 50);
  EXPECT_EQ((*notes)[1].text, "armed again");
  EXPECT_TRUE(s.Notes("none")->empty());
}

TYPED_TEST(ControlStoreContract, ControlObjectsMergeAndNullRemoves) {
  auto& s = *this->store_;
  EXPECT_EQ(*s.GetControl("m"), nlohmann::json::object());
  auto first = s.MergeControl("m", {{"team", "payments"}, {"started", false}}, 1);
  ASSERT_TRUE(first.ok());
  auto second = s.MergeControl("m", {{"started", true}, {"arm", {{"not_before", 5}}}}, 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)["team"], "payments");
  EXPECT_EQ((*second)["started"], true);
  auto third = s.MergeControl("m", {{"arm", nullptr}}, 3);
  EXPECT_FALSE(third->contains("arm"));
  EXPECT_EQ(*s.GetControl("m"), *third);
  ASSERT_TRUE(s.MergeControl("other", {{"team", "search"}}, 4).ok());
  auto all = s.AllControls();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("other")["team"], "search");
}

TYPED_TEST(ControlStoreContract, CampaignsAreUniqueListedByTeamAndMergedByPatch) {
  auto& s = *this->store_;
  CampaignRecord c{"spring", "payments", {{"waves", {1, 5}}, {"state", "running"}}, 0, 0};
  ASSERT_TRUE(s.CreateCampaign(c, 10).ok());
  ASSERT_TRUE(s.CreateCampaign({"autumn", "search", {{"state", "running"}}, 0, 0}, 11).ok());
  EXPECT_EQ(s.CreateCampaign({"spring", "search", {}, 0, 0}, 12).code(), Code::kAlreadyExists);
  EXPECT_EQ(s.GetCampaign("spring")->team, "payments");
  EXPECT_EQ(s.GetCampaign("winter").status().code(), Code::kNotFound);
  EXPECT_EQ(s.ListCampaigns("")->size(), 2u);
  auto mine = s.ListCampaigns("payments");
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].name, "spring");
  auto merged = s.MergeCampaign("spring", {{"state", "paused"}, {"waves", nullptr}}, 20);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->document, nlohmann::json({{"state", "paused"}}));
  EXPECT_EQ(merged->created_at, 10);
  EXPECT_EQ(merged->updated_at, 20);
  EXPECT_EQ(s.GetCampaign("spring")->document, merged->document);
  EXPECT_EQ(s.MergeCampaign("winter", {{"state", "x"}}, 21).status().code(), Code::kNotFound);
}

TEST(SqliteStore, AVersionFourFileGainsTheCampaignsTable) {
  testing::TempDir dir;
  std::string path = dir.path() + "/v4.db";
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->CreateCluster(Cluster("orders", "payments"), 1).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* back_to_v4 = R"sql(
    DROP TABLE campaigns;
    UPDATE pgshift_meta SET value = '4' WHERE key = 'schema_version';
  )sql";
  ASSERT_EQ(sqlite3_exec(db, back_to_v4, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->GetCluster("orders").ok());
  EXPECT_TRUE((*s)->CreateCampaign({"c", "payments", {}, 0, 0}, 2).ok());
}

TEST(SqliteStore, AVersionThreeFileGainsTheControlTablesAndKeepsItsMigrations) {
  testing::TempDir dir;
  std::string path = dir.path() + "/v3.db";
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok());
    MigrationRecord r;
    r.name = "old";
    ASSERT_TRUE((*s)->Create(r, 1).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* back_to_v3 = R"sql(
    DROP TABLE clusters; DROP TABLE api_tokens; DROP TABLE audit_log;
    DROP TABLE migration_notes; DROP TABLE migration_controls; DROP TABLE campaigns;
    UPDATE pgshift_meta SET value = '3' WHERE key = 'schema_version';
  )sql";
  ASSERT_EQ(sqlite3_exec(db, back_to_v3, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->Get("old").ok());
  EXPECT_TRUE((*s)->CreateCluster(Cluster("orders", "payments"), 1).ok());
  EXPECT_TRUE((*s)->AppendNote("old", "kept", 2).ok());
}

}  // namespace
}  // namespace pgshift
