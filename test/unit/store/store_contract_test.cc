// The MigrationStore contract, run against every implementation (a typed suite: a PostgreSQL
// store joins by adding its factory to StoreTypes): records and events, the compare-and-set
// transition, the runner lease (acquire, renew, release, takeover, token growth) and writes
// refused with a stale token, unknown phase values refused at the edge.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "fixture/temp_dir.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"

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

template <typename F>
class StoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_TRUE(store_);
    MigrationRecord r;
    r.name = "m";
    r.phase = Phase::kCreated;
    r.spec = {{"source", "host=x password=hunter2"}};
    ASSERT_TRUE(store_->Create(r, 100).ok());
    lease_ = Acquire("host:1:a", 100);
  }
  RunnerLease Acquire(const std::string& owner, double now, const std::string& dead = "") {
    auto g = store_->AcquireRunner("m", owner, kTtl, now, dead);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_TRUE(g.ok() && g->acquired) << (g.ok() ? g->holder : "");
    return g.ok() ? g->lease : RunnerLease{};
  }
  F factory_;
  std::unique_ptr<MigrationStore> store_;
  RunnerLease lease_;
};

using StoreTypes = ::testing::Types<SqliteFactory, MemoryFactory>;
TYPED_TEST_SUITE(StoreContract, StoreTypes);

TYPED_TEST(StoreContract, TransitionMovesPhaseMergesDataAndWritesTheEvent) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.ApplyTransition("m", this->lease_, Phase::kCreated, Phase::kReplicating, "because",
                                {{"a", 1}}, 101)
                  .ok());
  ASSERT_TRUE(s.ApplyTransition("m", this->lease_, Phase::kReplicating, Phase::kValidating, "then",
                                {{"b", 2}}, 102)
                  .ok());
  auto r = s.Get("m");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->phase, Phase::kValidating);
  EXPECT_EQ(r->data["a"], 1);
  EXPECT_EQ(r->data["b"], 2);
  EXPECT_EQ(r->spec["source"], "host=x password=hunter2");
  EXPECT_EQ(r->created_at, 100);
  EXPECT_EQ(r->updated_at, 102);
  auto ev = s.Events("m");
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_LT((*ev)[0].id, (*ev)[1].id);
  EXPECT_EQ((*ev)[1].from_phase, Phase::kReplicating);
  EXPECT_EQ((*ev)[1].to_phase, Phase::kValidating);
  EXPECT_EQ((*ev)[1].reason, "then");
  EXPECT_EQ((*ev)[1].at, 102);
  // A null in the patch removes the key (merge-patch).
  ASSERT_TRUE(s.MergeData("m", this->lease_, Phase::kValidating, {{"a", nullptr}}, 103).ok());
  EXPECT_FALSE(s.Get("m")->data.contains("a"));
}

TYPED_TEST(StoreContract, ALostRaceIsAbortedAndChangesNothing) {
  auto& s = *this->store_;
  ASSERT_TRUE(
      s.ApplyTransition("m", this->lease_, Phase::kCreated, Phase::kReplicating, "first", {}, 101)
          .ok());
  Status st = s.ApplyTransition("m", this->lease_, Phase::kCreated, Phase::kPausing, "stale",
                                {{"x", 1}}, 102);
  EXPECT_EQ(st.code(), Code::kAborted);
  EXPECT_NE(st.message().find("'m'"), std::string::npos) << st.message();
  EXPECT_EQ(s.Get("m")->phase, Phase::kReplicating);
  EXPECT_FALSE(s.Get("m")->data.contains("x"));
  EXPECT_EQ(s.Events("m")->size(), 1u);
  EXPECT_EQ(s.MergeData("m", this->lease_, Phase::kCreated, {{"y", 1}}, 103).code(),
            Code::kAborted);
  EXPECT_FALSE(s.Get("m")->data.contains("y"));
}

TYPED_TEST(StoreContract, DuplicateAndUnknownNamesAreClear) {
  auto& s = *this->store_;
  MigrationRecord r;
  r.name = "m";
  EXPECT_EQ(s.Create(r, 1).code(), Code::kAlreadyExists);
  EXPECT_EQ(s.Get("zz").status().code(), Code::kNotFound);
  EXPECT_NE(s.Get("zz").status().message().find("'zz'"), std::string::npos);
  EXPECT_EQ(s.RequestCutover("zz", 1).code(), Code::kNotFound);
  EXPECT_EQ(s.RequestRollback("zz", {}, 1).code(), Code::kNotFound);
  EXPECT_EQ(s.AcquireRunner("zz", "o", kTtl, 1, "").status().code(), Code::kNotFound);
  ASSERT_TRUE(s.RequestCutover("m", 1).ok());
  EXPECT_TRUE(s.Get("m")->cutover_requested);
  EXPECT_FALSE(s.Get("m")->rollback_requested);
}

TYPED_TEST(StoreContract, OperatorRequestsNeedNoLease) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.RequestRollback("m", {{"keep", true}}, 5).ok());
  auto r = s.Get("m");
  EXPECT_TRUE(r->rollback_requested);
  EXPECT_EQ(r->data["keep"], true);
}

TYPED_TEST(StoreContract, ListIsInCreationOrder) {
  auto& s = *this->store_;
  MigrationRecord r;
  r.name = "a";
  ASSERT_TRUE(s.Create(r, 200).ok());
  auto all = s.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "m");
  EXPECT_EQ((*all)[1].name, "a");
}

TYPED_TEST(StoreContract, ABusyLeaseAnswersWhoHoldsItUntilItExpires) {
  auto& s = *this->store_;
  auto busy = s.AcquireRunner("m", "host:2:b", kTtl, 110, "");
  ASSERT_TRUE(busy.ok());
  EXPECT_FALSE(busy->acquired);
  EXPECT_EQ(busy->holder, "host:1:a");
  EXPECT_DOUBLE_EQ(busy->holder_expires_at, 115);
  // The holder renews: still busy after the first expiry.
  ASSERT_TRUE(s.RenewRunner("m", this->lease_, kTtl, 114).ok());
  EXPECT_FALSE(s.AcquireRunner("m", "host:2:b", kTtl, 120, "")->acquired);
  // Expired: taken over, with a larger token.
  auto took = s.AcquireRunner("m", "host:2:b", kTtl, 130, "");
  ASSERT_TRUE(took.ok() && took->acquired);
  EXPECT_GT(took->lease.token, this->lease_.token);
  EXPECT_EQ(took->lease.owner, "host:2:b");
}

TYPED_TEST(StoreContract, ADeadOwnerNamedByTheCallerIsTakenOverAtOnce) {
  auto& s = *this->store_;
  // Naming someone else as dead takes nothing.
  EXPECT_FALSE(s.AcquireRunner("m", "host:2:b", kTtl, 101, "host:9:z")->acquired);
  RunnerLease taken = this->Acquire("host:2:b", 101, "host:1:a");
  EXPECT_GT(taken.token, this->lease_.token);
}

TYPED_TEST(StoreContract, ReacquiringOnesOwnLiveLeaseKeepsItsToken) {
  auto& s = *this->store_;
  RunnerLease again = this->Acquire("host:1:a", 105);
  EXPECT_EQ(again.token, this->lease_.token);
  EXPECT_TRUE(s.RenewRunner("m", this->lease_, kTtl, 106).ok());
}

TYPED_TEST(StoreContract, TheTokenGrowsOnEveryGrantAfterARelease) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.ReleaseRunner("m", this->lease_).ok());
  RunnerLease second = this->Acquire("host:1:a", 101);
  EXPECT_GT(second.token, this->lease_.token);
  ASSERT_TRUE(s.ReleaseRunner("m", second).ok());
  RunnerLease third = this->Acquire("host:2:b", 102);
  EXPECT_GT(third.token, second.token);
  // Releasing a lost lease is harmless and changes nothing.
  ASSERT_TRUE(s.ReleaseRunner("m", second).ok());
  EXPECT_FALSE(s.AcquireRunner("m", "host:3:c", kTtl, 103, "")->acquired);
}

TYPED_TEST(StoreContract, WritesWithAStaleTokenAreRefusedAndChangeNothing) {
  auto& s = *this->store_;
  RunnerLease newer = this->Acquire("host:2:b", 200);  // the first lease expired at 115
  Status st = s.ApplyTransition("m", this->lease_, Phase::kCreated, Phase::kReplicating, "old",
                                {{"x", 1}}, 201);
  EXPECT_EQ(st.code(), Code::kAborted);
  EXPECT_NE(st.message().find("lease lost"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'m'"), std::string::npos) << st.message();
  EXPECT_EQ(s.MergeData("m", this->lease_, Phase::kCreated, {{"x", 1}}, 201).code(),
            Code::kAborted);
  EXPECT_EQ(s.RenewRunner("m", this->lease_, kTtl, 201).code(), Code::kAborted);
  EXPECT_EQ(s.CheckRunner("m", this->lease_).status().code(), Code::kAborted);
  EXPECT_DOUBLE_EQ(*s.CheckRunner("m", newer), 215);
  auto r = s.Get("m");
  EXPECT_EQ(r->phase, Phase::kCreated);
  EXPECT_FALSE(r->data.contains("x"));
  EXPECT_TRUE(s.Events("m")->empty());
  EXPECT_TRUE(
      s.ApplyTransition("m", newer, Phase::kCreated, Phase::kReplicating, "new", {}, 202).ok());
}

TYPED_TEST(StoreContract, AReleasedLeaseCannotWrite) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.ReleaseRunner("m", this->lease_).ok());
  EXPECT_EQ(s.MergeData("m", this->lease_, Phase::kCreated, {{"x", 1}}, 101).code(),
            Code::kAborted);
}

TYPED_TEST(StoreContract, AnExpiredLeaseNobodyTookStillWrites) {
  // The token, not the clock, decides: a runner slow to renew loses nothing until someone
  // actually takes over.
  auto& s = *this->store_;
  EXPECT_TRUE(s.MergeData("m", this->lease_, Phase::kCreated, {{"x", 1}}, 500).ok());
  EXPECT_TRUE(s.RenewRunner("m", this->lease_, kTtl, 500).ok());
}

TYPED_TEST(StoreContract, AnUnknownPhaseValueIsAFailedPreconditionNamingTheMigration) {
  auto& s = *this->store_;
  this->factory_.SetRawPhase(s, "m", 99);
  auto r = s.Get("m");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("migration 'm' has unknown phase value 99"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(s.List().status().code(), Code::kFailedPrecondition);
}

TYPED_TEST(StoreContract, ARenewalTickAndStepWritesFromTwoThreadsDoNotInterfere) {
  // The engine renews leases on a background thread while a step writes on another.
  auto& s = *this->store_;
  std::thread renewer([&] {
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(s.RenewRunner("m", this->lease_, kTtl, 101).ok());
  });
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(s.MergeData("m", this->lease_, Phase::kCreated, {{"n", i}}, 101).ok());
  }
  renewer.join();
  EXPECT_EQ(s.Get("m")->data["n"], 99);
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

// Route versions: per key, starting at 1 and only growing; one key's draws leave another's
// alone; an empty key is refused.
TYPED_TEST(StoreContract, RouteVersionsOnlyGrowPerKey) {
  auto& s = *this->store_;
  auto first = s.NextRouteVersion("proxy cluster orders");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 1u);
  EXPECT_EQ(*s.NextRouteVersion("proxy cluster orders"), 2u);
  EXPECT_EQ(*s.NextRouteVersion("proxy cluster billing"), 1u);
  EXPECT_EQ(*s.NextRouteVersion("proxy cluster orders"), 3u);
  auto empty = s.NextRouteVersion("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
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
