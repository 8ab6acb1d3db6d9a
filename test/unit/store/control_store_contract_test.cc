// The ControlStore contract (test/fixture/control_store_contract.h) against SqliteStore and
// MemoryStore, and SQLite files of schema versions 3 and 4 migrated forward with their rows
// kept. PostgresStore runs the same contract in test/integration/store/.
#include "fixture/control_store_contract.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "fixture/temp_dir.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"

namespace pgshift::testing {
namespace {

struct SqliteControlFactory {
  TempDir dir;
  std::unique_ptr<ControlStore> Make() {
    auto s = SqliteStore::Open(dir.path() + "/c.db");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::unique_ptr<ControlStore>(std::move(s).value()) : nullptr;
  }
  // A second process's handle on the same file.
  std::unique_ptr<ControlStore> SecondHandle() { return Make(); }
};

struct MemoryControlFactory {
  std::unique_ptr<ControlStore> Make() { return std::make_unique<MemoryStore>(); }
};

using ControlStores = ::testing::Types<SqliteControlFactory, MemoryControlFactory>;

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(SqliteAndMemory, ControlStoreContract, ControlStores);

namespace {

TEST(SqliteStore, AVersionFourFileGainsTheCampaignsTable) {
  TempDir dir;
  std::string path = dir.path() + "/v4.db";
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->CreateCluster(ControlCluster("orders", "payments"), 1).ok());
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
  TempDir dir;
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
  EXPECT_TRUE((*s)->CreateCluster(ControlCluster("orders", "payments"), 1).ok());
  EXPECT_TRUE((*s)->AppendNote("old", "kept", 2).ok());
}

}  // namespace
}  // namespace pgshift::testing
