// The MigrationStore contract (test/fixture/store_contract.h) against SqliteStore and
// MemoryStore, and what only the SQLite file has: its mode, its schema upgrades, two handles
// on one file. PostgresStore runs the same contract in test/integration/store/.
#include "fixture/store_contract.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "fixture/temp_dir.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "store/store_location.h"

namespace pgshift {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTtl{15000};

struct SqliteFactory {
  testing::TempDir dir;
  std::string path() const { return dir.path() + "/s.db"; }
  std::unique_ptr<MigrationStore> Make() {
    auto s = SqliteStore::Open(path());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::unique_ptr<MigrationStore>(std::move(s).value()) : nullptr;
  }
  void SetRawPhase(MigrationStore&, const std::string& name, int value) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    std::string sql =
        "UPDATE migrations SET phase = " + std::to_string(value) + " WHERE name = '" + name + "'";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
};

struct MemoryFactory {
  std::unique_ptr<MigrationStore> Make() { return std::make_unique<MemoryStore>(); }
  void SetRawPhase(MigrationStore& s, const std::string& name, int value) {
    static_cast<MemoryStore&>(s).SetRawPhaseForTest(name, value);
  }
};

}  // namespace

namespace testing {
using LocalStores = ::testing::Types<SqliteFactory, MemoryFactory>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, StoreContract, LocalStores);
}  // namespace testing

namespace {

// The CLI's --store: a URI or key=value pairs with a host name a PostgreSQL database, anything
// else a file; a file opens as SQLite with its warnings passed on.
TEST(StoreLocation, PostgresLocationsAreURIsOrConninfosWithAHost) {
  EXPECT_TRUE(IsPostgresLocation("postgresql://pgshift@db.internal:5432/fleet"));
  EXPECT_TRUE(IsPostgresLocation("postgres://db.internal/fleet"));
  EXPECT_TRUE(IsPostgresLocation("host=db.internal port=5432 dbname=fleet"));
  EXPECT_TRUE(IsPostgresLocation("dbname=fleet host=/var/run/postgresql"));
  EXPECT_FALSE(IsPostgresLocation("pgshift.db"));
  EXPECT_FALSE(IsPostgresLocation("/var/lib/pgshift/pgshift.db"));
  EXPECT_FALSE(IsPostgresLocation("postgresql.db"));
}

TEST(StoreLocation, AFileOpensAsSqlite) {
  testing::TempDir dir;
  auto s = OpenMigrationStore(dir.path() + "/s.db");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->store->Location(), dir.path() + "/s.db");
  EXPECT_TRUE(s->warnings.empty());
  EXPECT_NE(dynamic_cast<SqliteStore*>(s->store.get()), nullptr);
}

TEST(SqliteStore, TheFileIsReadableByItsOwnerOnly) {
  testing::TempDir dir;
  ASSERT_TRUE(SqliteStore::Open(dir.path() + "/s.db").ok());
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/s.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST(SqliteStore, NotAStoreIsInvalidArgumentNamingThePath) {
  testing::TempDir dir;
  std::string path = dir.path() + "/garbage.db";
  FILE* f = fopen(path.c_str(), "w");
  fputs("this is not sqlite at all, not even close................................", f);
  fclose(f);
  auto s = SqliteStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find(path), std::string::npos);
}

TEST(SqliteStore, AVersionOneFileIsMigratedForwardAndKeepsItsMigrations) {
  testing::TempDir dir;
  std::string path = dir.path() + "/v1.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* v1 = R"sql(
    CREATE TABLE pgshift_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO pgshift_meta VALUES ('schema_version', '1');
    CREATE TABLE migrations(name TEXT PRIMARY KEY, phase INTEGER NOT NULL, spec TEXT NOT NULL,
      data TEXT NOT NULL DEFAULT '{}', cutover_requested INTEGER NOT NULL DEFAULT 0,
      rollback_requested INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
      updated_at REAL NOT NULL);
    CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT,
      migration TEXT NOT NULL REFERENCES migrations(name), at REAL NOT NULL,
      from_phase INTEGER NOT NULL, to_phase INTEGER NOT NULL, reason TEXT NOT NULL);
    INSERT INTO migrations(name, phase, spec, created_at, updated_at)
      VALUES ('old', 4, '{}', 1, 1);
  )sql";
  ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Get("old")->phase, Phase::kReadyForCutover);
  auto g = (*s)->AcquireRunner("old", "host:1:a", kTtl, 10, "");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->acquired);
  auto again = SqliteStore::Open(path);  // opening again changes nothing
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE((*again)->AcquireRunner("old", "host:2:b", kTtl, 11, "")->acquired);
}

// The counter is in the file: a new handle (an orchestrator restarted) continues above the
// versions handed out before, and a file from schema version 2 gains the table.
TEST(SqliteStore, RouteVersionsSurviveReopeningTheFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/s.db";
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(*(*s)->NextRouteVersion("proxy cluster orders"), 1u);
    EXPECT_EQ(*(*s)->NextRouteVersion("proxy cluster orders"), 2u);
  }
  auto reopened = SqliteStore::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(*(*reopened)->NextRouteVersion("proxy cluster orders"), 3u);
  auto other = SqliteStore::Open(path);  // a second handle on the same file shares it
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*(*other)->NextRouteVersion("proxy cluster orders"), 4u);
  EXPECT_EQ(*(*reopened)->NextRouteVersion("proxy cluster orders"), 5u);
}

// The file holds connection secrets: one that group or others may read (created by someone
// else, or chmod-ed since) opens with a warning naming the file and its mode; a file the store
// creates itself is owner-only and opens quietly.
TEST(SqliteStore, AFileOthersMayReadOpensWithAWarning) {
  testing::TempDir dir;
  std::string path = dir.path() + "/s.db";
  {
    auto created = SqliteStore::Open(path);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_TRUE((*created)->warnings().empty());
  }
  std::filesystem::permissions(path, std::filesystem::perms(0644));
  auto loose = SqliteStore::Open(path);
  ASSERT_TRUE(loose.ok()) << loose.status().ToString();
  ASSERT_EQ((*loose)->warnings().size(), 1u);
  EXPECT_EQ((*loose)->warnings()[0], "store " + path +
                                         " may be read or written by group or others (mode "
                                         "0644), and it holds connection secrets: chmod 600 " +
                                         path);
}

TEST(SqliteStore, AFileFromANewerPgshiftIsRefused) {
  testing::TempDir dir;
  std::string path = dir.path() + "/new.db";
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE pgshift_meta SET value = '99'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find("newer"), std::string::npos) << s.status().message();
}

TEST(SqliteStore, TwoHandlesOnOneFileSeeOneLease) {
  testing::TempDir dir;
  auto a = SqliteStore::Open(dir.path() + "/s.db");
  auto b = SqliteStore::Open(dir.path() + "/s.db");
  ASSERT_TRUE(a.ok() && b.ok());
  MigrationRecord r;
  r.name = "m";
  ASSERT_TRUE((*a)->Create(r, 1).ok());
  EXPECT_TRUE((*a)->AcquireRunner("m", "host:1:a", kTtl, 1, "")->acquired);
  auto other = (*b)->AcquireRunner("m", "host:2:b", kTtl, 2, "");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->acquired);
  EXPECT_EQ(other->holder, "host:1:a");
}

}  // namespace
}  // namespace pgshift
