// PostgresStore as the control plane's store on a real PostgreSQL 15 server: the whole
// ControlStore contract (the suite SqliteStore and MemoryStore run, one fresh schema per
// test), what only a shared database shows (two servers see each other's clusters, tokens,
// audit entries and control objects), and the previous release's schema (version 3, no control
// tables) upgraded with its migrations, leases and route versions kept, and version 4 gaining
// the campaigns of version 5.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "fixture/control_store_contract.h"
#include "fixture/pg_cluster.h"
#include "store/postgres_store.h"
#include "store/store_location.h"

namespace pgshift::testing {
namespace {

std::string FreshControlSchema() {
  static std::atomic<int> n{0};
  return "c" + std::to_string(getpid()) + "_" + std::to_string(n++);
}

struct PostgresControlFactory {
  static inline std::unique_ptr<PgCluster> cluster;
  static void SetUpSuite() { cluster = PgCluster::Primary(); }
  static void TearDownSuite() { cluster.reset(); }

  std::string schema = FreshControlSchema();
  std::unique_ptr<ControlStore> Make() {
    auto s = PostgresStore::Open(cluster->ConnString(), schema);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::unique_ptr<ControlStore>(std::move(s).value()) : nullptr;
  }
  // A second server's connection to the same schema.
  std::unique_ptr<ControlStore> SecondHandle() { return Make(); }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ControlStoreContract,
                               ::testing::Types<PostgresControlFactory>);

namespace {

class PostgresControlStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = PgCluster::Primary(); }
  static void TearDownTestSuite() { cluster_.reset(); }
  std::unique_ptr<PostgresStore> Open() {
    auto s = PostgresStore::Open(cluster_->ConnString(), schema_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string SchemaVersion() {
    return cluster_->Value("SELECT value FROM \"" + schema_ +
                           "\".pgshift_meta WHERE key = 'schema_version'");
  }
  static inline std::unique_ptr<PgCluster> cluster_;
  std::string schema_ = FreshControlSchema();
};

TEST_F(PostgresControlStoreTest, TwoServersShareClustersTokensAuditAndControlObjects) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateCluster(ControlCluster("orders", "payments"), 1).ok());
  EXPECT_EQ(b->CreateCluster(ControlCluster("orders", "search"), 2).code(), Code::kAlreadyExists);
  EXPECT_EQ(b->GetCluster("orders")->team, "payments");
  ASSERT_TRUE(b->AddToken({"ff00", "payments", false, "ci", 0}, 3).ok());
  EXPECT_EQ(a->FindToken("ff00")->label, "ci");
  ASSERT_TRUE(
      a->AppendAudit({0, 4, "token:ci", "payments", "migration.start", "migration/m", "ok", 202})
          .ok());
  ASSERT_TRUE(
      b->AppendAudit({0, 5, "token:ci", "payments", "migration.cutover", "migration/m", "ok", 202})
          .ok());
  auto audit = a->ListAudit(10, "payments");
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].action, "migration.cutover");  // newest first, whoever wrote it
  ASSERT_TRUE(a->MergeControl("m", {{"started", true}}, 6).ok());
  ASSERT_TRUE(b->MergeControl("m", {{"arm", {{"not_before", 7}}}}, 7).ok());
  auto control = a->GetControl("m");
  ASSERT_TRUE(control.ok());
  EXPECT_EQ((*control)["started"], true);
  EXPECT_EQ((*control)["arm"]["not_before"], 7);
}

// The schema pgshift's previous release left (version 3: migrations, events, runner_leases,
// route_versions; no control tables), with a migration inside a held lease and a route
// version drawn: version 4 keeps all of it and adds the control plane's tables.
TEST_F(PostgresControlStoreTest, AVersionThreeSchemaGainsTheControlTablesAndKeepsItsState) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
    MigrationRecord r;
    r.name = "old";
    r.spec = {{"source", "host=x"}};
    ASSERT_TRUE(s->Create(r, 1).ok());
    auto g = s->AcquireRunner("old", "host:1:a", std::chrono::milliseconds(15000), 10, "");
    ASSERT_TRUE(g.ok() && g->acquired);
    ASSERT_EQ(g->lease.token, 1);
    ASSERT_EQ(*s->NextRouteVersion("proxy cluster old"), 1u);
  }
  const std::string q = "\"" + schema_ + "\"";
  cluster_->Sql("DROP TABLE " + q + ".clusters, " + q + ".api_tokens, " + q + ".audit_log, " + q +
                ".migration_notes, " + q + ".migration_controls, " + q + ".campaigns; UPDATE " + q +
                ".pgshift_meta SET value = '3' WHERE key = 'schema_version'");
  ASSERT_EQ(SchemaVersion(), "3");

  auto s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(SchemaVersion(), std::to_string(PostgresStore::kSchemaVersion));
  auto old = s->Get("old");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->spec["source"], "host=x");
  EXPECT_DOUBLE_EQ(*s->CheckRunner("old", {"host:1:a", 1}), 25);
  EXPECT_EQ(*s->NextRouteVersion("proxy cluster old"), 2u);
  EXPECT_TRUE(s->CreateCluster(ControlCluster("orders", "payments"), 1).ok());
  EXPECT_TRUE(s->AppendNote("old", "kept", 2).ok());
  EXPECT_EQ(s->Notes("old")->size(), 1u);
  // Opening again changes nothing.
  auto again = Open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ListClusters("")->size(), 1u);
}

// Version 4 (this first release of the control tables, before campaigns) gains the
// campaigns table and keeps its clusters.
TEST_F(PostgresControlStoreTest, AVersionFourSchemaGainsTheCampaignsTable) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->CreateCluster(ControlCluster("orders", "payments"), 1).ok());
  }
  const std::string q = "\"" + schema_ + "\"";
  cluster_->Sql("DROP TABLE " + q + ".campaigns; UPDATE " + q +
                ".pgshift_meta SET value = '4' WHERE key = 'schema_version'");
  auto s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(SchemaVersion(), "5");
  EXPECT_TRUE(s->GetCluster("orders").ok());
  EXPECT_TRUE(s->CreateCampaign({"spring", "payments", {{"state", "running"}}, 0, 0}, 2).ok());
  EXPECT_EQ(Open()->GetCampaign("spring")->document["state"], "running");
}

// The one function that chooses a store hands the server both interfaces of one store.
TEST_F(PostgresControlStoreTest, AStoreLocationOfPostgresqlOpensBothInterfaces) {
  auto opened = OpenMigrationStore(cluster_->ConnString(), {.postgres_schema = schema_});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_NE(opened->control, nullptr);
  ASSERT_TRUE(opened->control->CreateCluster(ControlCluster("orders", "payments"), 1).ok());
  EXPECT_EQ(Open()->GetCluster("orders")->team, "payments");
}

}  // namespace
}  // namespace pgshift::testing
