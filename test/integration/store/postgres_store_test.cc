// PostgresStore on a real PostgreSQL 15 server: the whole MigrationStore contract (the same
// suite SqliteStore and MemoryStore run, one fresh schema per test), then what only a shared
// database shows: two stores (two connections, as two servers) racing for one lease and for
// one transition, a writer that lost its lease mid-stream writing nothing more, the schema
// created once when servers start at once, upgraded from the previous version's schema, and
// refused from a newer one, a restarted server, and the password kept out of every message.
#include "store/postgres_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/process.h"
#include "fixture/migration_harness.h"
#include "fixture/pg_cluster.h"
#include "fixture/store_contract.h"
#include "platform/port_reservation.h"
#include "store/store_location.h"

namespace pgshift::testing {
namespace {

std::string FreshSchema() {
  static std::atomic<int> n{0};
  return "t" + std::to_string(getpid()) + "_" + std::to_string(n++);
}

struct PostgresFactory {
  static inline std::unique_ptr<PgCluster> cluster;
  static void SetUpSuite() { cluster = PgCluster::Primary(); }
  static void TearDownSuite() { cluster.reset(); }

  std::string schema = FreshSchema();
  std::unique_ptr<MigrationStore> Make() {
    auto s = PostgresStore::Open(cluster->ConnString(), schema);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::unique_ptr<MigrationStore>(std::move(s).value()) : nullptr;
  }
  void SetRawPhase(MigrationStore&, const std::string& name, int value) {
    cluster->Sql("UPDATE \"" + schema + "\".migrations SET phase = " + std::to_string(value) +
                 " WHERE name = '" + name + "'");
  }
};

}  // namespace

using PostgresStores = ::testing::Types<PostgresFactory>;
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreContract, PostgresStores);

namespace {

class PostgresStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = PgCluster::Primary(); }
  static void TearDownTestSuite() { cluster_.reset(); }

  // A store on this test's schema: each call is another connection, as another server.
  std::unique_ptr<PostgresStore> Open() {
    auto s = PostgresStore::Open(cluster_->ConnString(), schema_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  void CreateMigration(MigrationStore& s, const std::string& name) {
    MigrationRecord r;
    r.name = name;
    r.spec = {{"source", "host=x"}};
    ASSERT_TRUE(s.Create(r, 100).ok());
  }
  std::string SchemaVersion() {
    return cluster_->Value("SELECT value FROM \"" + schema_ +
                           "\".pgshift_meta WHERE key = 'schema_version'");
  }

  static inline std::unique_ptr<PgCluster> cluster_;
  std::string schema_ = FreshSchema();
};

TEST_F(PostgresStoreTest, TwoServersRacingForOneLeaseExactlyOneWinsAndTheTokenGrows) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  CreateMigration(*a, "m");
  int64_t last_token = 0;
  int wins_a = 0;
  int wins_b = 0;
  for (int round = 0; round < 40; ++round) {
    // Every earlier grant (15 s) has lapsed by now: both may take the migration over.
    const double now = 1000 + 100.0 * round;
    std::barrier start(2);
    Result<LeaseGrant> ga = Internal("not run");
    Result<LeaseGrant> gb = Internal("not run");
    std::thread ta([&] {
      start.arrive_and_wait();
      ga = a->AcquireRunner("m", "host-a:1:1", kTtl, now, "");
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      gb = b->AcquireRunner("m", "host-b:2:2", kTtl, now, "");
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(ga.ok()) << ga.status().ToString();
    ASSERT_TRUE(gb.ok()) << gb.status().ToString();
    ASSERT_EQ(int(ga->acquired) + int(gb->acquired), 1) << "round " << round;
    const LeaseGrant& won = ga->acquired ? *ga : *gb;
    const LeaseGrant& lost = ga->acquired ? *gb : *ga;
    (ga->acquired ? wins_a : wins_b)++;
    EXPECT_EQ(lost.holder, won.lease.owner);
    EXPECT_DOUBLE_EQ(lost.holder_expires_at, now + 15);
    EXPECT_EQ(won.lease.token, last_token + 1) << "a takeover grows the token by one grant";
    last_token = won.lease.token;
    // Both servers read the winner's lease as the current one.
    EXPECT_TRUE(a->CheckRunner("m", won.lease).ok());
    EXPECT_TRUE(b->CheckRunner("m", won.lease).ok());
  }
  std::cout << "wins: a " << wins_a << ", b " << wins_b << "\n";
}

TEST_F(PostgresStoreTest, TwoConnectionsRacingForOneTransitionMoveItOnce) {
  // The same runner's lease on two connections (a retry racing the original): the phase is
  // compared in the transaction, so exactly one moves it and the other is told it moved on.
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  CreateMigration(*a, "m");
  auto g = a->AcquireRunner("m", "host-a:1:1", kTtl, 100, "");
  ASSERT_TRUE(g.ok() && g->acquired);
  std::barrier start(2);
  Status sa, sb;
  std::thread ta([&] {
    start.arrive_and_wait();
    sa = a->ApplyTransition("m", g->lease, Phase::kCreated, Phase::kReplicating, "a", {{"a", 1}},
                            101);
  });
  std::thread tb([&] {
    start.arrive_and_wait();
    sb = b->ApplyTransition("m", g->lease, Phase::kCreated, Phase::kReplicating, "b", {{"b", 1}},
                            101);
  });
  ta.join();
  tb.join();
  ASSERT_EQ(int(sa.ok()) + int(sb.ok()), 1) << sa.ToString() << " / " << sb.ToString();
  const Status& lost = sa.ok() ? sb : sa;
  EXPECT_EQ(lost.code(), Code::kAborted);
  EXPECT_NE(lost.message().find("moved on"), std::string::npos) << lost.message();
  auto events = a->Events("m");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
  auto r = b->Get("m");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->phase, Phase::kReplicating);
  EXPECT_NE(r->data.contains("a"), r->data.contains("b")) << r->data.dump();
}

TEST_F(PostgresStoreTest, AWriterWhoseLeaseWasTakenOverWritesNothingMore) {
  // Server A writes step data as fast as it can; server B takes the migration over (A's lease
  // lapsed) in the middle. What B reads right after its grant is A's last accepted write, and
  // every write A tries after that is refused and changes nothing.
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  CreateMigration(*a, "m");
  auto ga = a->AcquireRunner("m", "host-a:1:1", kTtl, 100, "");
  ASSERT_TRUE(ga.ok() && ga->acquired);
  const RunnerLease stale = ga->lease;

  std::atomic<int> accepted{0};  // A's accepted writes so far
  int last_ok = 0;
  int refused_after_first = 0;
  int ok_after_refusal = 0;
  std::vector<Status> other_errors;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    bool refused = false;
    for (int i = 1; refused_after_first < 50 && !stop; ++i) {
      Status st = a->MergeData("m", stale, Phase::kCreated, {{"n", i}}, 101);
      if (st.ok()) {
        if (refused) ++ok_after_refusal;
        last_ok = i;
        ++accepted;
      } else if (st.code() == Code::kAborted &&
                 st.message().find("lease lost") != std::string::npos) {
        refused = true;
        ++refused_after_first;
      } else {
        other_errors.push_back(st);
        stop = true;
      }
    }
  });
  // B takes over while A is in full flight (A has had 20 writes accepted).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (accepted.load() < 20 && !stop && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto gb = b->AcquireRunner("m", "host-b:2:2", kTtl, 200, "");
  auto at_takeover = b->Get("m");
  if (!gb.ok() || !gb->acquired) stop = true;  // A would never be refused
  writer.join();
  ASSERT_TRUE(gb.ok()) << gb.status().ToString();
  ASSERT_TRUE(gb->acquired);
  EXPECT_GT(gb->lease.token, stale.token);
  ASSERT_TRUE(at_takeover.ok()) << at_takeover.status().ToString();
  for (const Status& st : other_errors) ADD_FAILURE() << st.ToString();
  EXPECT_EQ(ok_after_refusal, 0);
  EXPECT_EQ(refused_after_first, 50);
  ASSERT_GE(last_ok, 20);
  EXPECT_EQ(at_takeover->data["n"], last_ok);
  // A's other writes: refused, nothing changed.
  Status tr = a->ApplyTransition("m", stale, Phase::kCreated, Phase::kReplicating, "stale",
                                 {{"stale", true}}, 201);
  EXPECT_EQ(tr.code(), Code::kAborted);
  EXPECT_EQ(a->RenewRunner("m", stale, kTtl, 201).code(), Code::kAborted);
  EXPECT_EQ(a->CheckRunner("m", stale).status().code(), Code::kAborted);
  ASSERT_TRUE(a->ReleaseRunner("m", stale).ok());  // harmless: B keeps the lease
  auto after = b->Get("m");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->phase, Phase::kCreated);
  EXPECT_EQ(after->data, at_takeover->data);
  EXPECT_EQ(after->updated_at, at_takeover->updated_at);
  EXPECT_TRUE(b->Events("m")->empty());
  EXPECT_TRUE(b->CheckRunner("m", gb->lease).ok());
  EXPECT_TRUE(
      b->ApplyTransition("m", gb->lease, Phase::kCreated, Phase::kReplicating, "B", {}, 202).ok());
}

TEST_F(PostgresStoreTest, AServerStoppedInsideAWriteHoldsUpATakeoverOnlyUntilItsSessionEnds) {
  // Server A stops (as under SIGSTOP) inside MergeData with its lease row locked; A's lease
  // lapses and B takes over. PostgreSQL ends A's idle transaction after the store's timeout, so
  // B waits at most that long, and when A resumes its write has failed and left nothing.
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  CreateMigration(*a, "m");
  auto ga = a->AcquireRunner("m", "host-a:1:1", kTtl, 100, "");
  ASSERT_TRUE(ga.ok() && ga->acquired);
  std::atomic<bool> inside{false};
  const auto stall = PostgresStore::kIdleInTransactionTimeout + std::chrono::seconds(3);
  a->SetInsideWriteHookForTest([&] {
    inside = true;
    std::this_thread::sleep_for(stall);
  });
  Status stalled_write;
  std::thread server_a([&] {
    stalled_write = a->MergeData("m", ga->lease, Phase::kCreated, {{"x", 1}}, 101);
  });
  while (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto t0 = std::chrono::steady_clock::now();
  auto gb = b->AcquireRunner("m", "host-b:2:2", kTtl, 200, "");
  const auto waited = std::chrono::steady_clock::now() - t0;
  server_a.join();
  ASSERT_TRUE(gb.ok()) << gb.status().ToString();
  EXPECT_TRUE(gb->acquired);
  EXPECT_GT(gb->lease.token, ga->lease.token);
  EXPECT_LT(waited, stall) << "B waited for A to resume";
  std::cout << "takeover waited "
            << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms\n";
  EXPECT_EQ(stalled_write.code(), Code::kUnavailable) << stalled_write.ToString();
  a->SetInsideWriteHookForTest(nullptr);
  EXPECT_FALSE(b->Get("m")->data.contains("x"));
  // A, resumed, reconnects and learns it lost the lease.
  EXPECT_EQ(a->MergeData("m", ga->lease, Phase::kCreated, {{"x", 2}}, 202).code(), Code::kAborted);
  EXPECT_EQ(a->CheckRunner("m", ga->lease).status().code(), Code::kAborted);
}

TEST_F(PostgresStoreTest, AnOperatorRequestAndAStepWriteRacingLoseNeither) {
  // Both merge into the same data column (read, merge, write): the migration row is locked
  // for the read, so neither overwrites what the other merged.
  auto server = Open();
  auto operator_cli = Open();
  ASSERT_TRUE(server && operator_cli);
  CreateMigration(*server, "m");
  auto g = server->AcquireRunner("m", "host-a:1:1", kTtl, 100, "");
  ASSERT_TRUE(g.ok() && g->acquired);
  constexpr int kEach = 40;
  std::barrier start(2);
  std::thread steps([&] {
    start.arrive_and_wait();
    for (int i = 0; i < kEach; ++i) {
      EXPECT_TRUE(
          server->MergeData("m", g->lease, Phase::kCreated, {{"step" + std::to_string(i), i}}, 101)
              .ok());
    }
  });
  std::thread requests([&] {
    start.arrive_and_wait();
    for (int i = 0; i < kEach; ++i) {
      EXPECT_TRUE(operator_cli->RequestRollback("m", {{"asked" + std::to_string(i), i}}, 101).ok());
    }
  });
  steps.join();
  requests.join();
  auto r = server->Get("m");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->rollback_requested);
  for (int i = 0; i < kEach; ++i) {
    EXPECT_TRUE(r->data.contains("step" + std::to_string(i))) << i;
    EXPECT_TRUE(r->data.contains("asked" + std::to_string(i))) << i;
  }
}

TEST_F(PostgresStoreTest, ServersStartingAtOnceCreateTheSchemaOnce) {
  // Without the advisory lock, concurrent CREATE SCHEMA / CREATE TABLE fail on the catalog's
  // unique indexes.
  constexpr int kServers = 6;
  std::barrier start(kServers);
  std::vector<Result<std::unique_ptr<PostgresStore>>> opened;
  for (int i = 0; i < kServers; ++i) opened.emplace_back(Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      opened[i] = PostgresStore::Open(cluster_->ConnString(), schema_);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kServers; ++i) {
    ASSERT_TRUE(opened[i].ok()) << opened[i].status().ToString();
    CreateMigration(**opened[i], "m" + std::to_string(i));
  }
  EXPECT_EQ(SchemaVersion(), std::to_string(PostgresStore::kSchemaVersion));
  auto all = (*opened[0])->List();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), size_t{kServers});
}

// The previous version's schema (2: migrations, events, runner_leases; no route_versions),
// written by hand as that release left it, with a migration inside a held lease.
TEST_F(PostgresStoreTest, AVersionTwoSchemaIsUpgradedAndKeepsItsMigrationsAndLeases) {
  const std::string s = "\"" + schema_ + "\"";
  cluster_->Sql("CREATE SCHEMA " + s + R"sql(;
    CREATE TABLE )sql" +
                s + R"sql(.pgshift_meta(key text PRIMARY KEY, value text NOT NULL);
    INSERT INTO )sql" +
                s + R"sql(.pgshift_meta VALUES ('schema_version', '2');
    CREATE TABLE )sql" +
                s + R"sql(.migrations(name text PRIMARY KEY,
      seq bigint GENERATED ALWAYS AS IDENTITY, phase integer NOT NULL, spec text NOT NULL,
      data text NOT NULL DEFAULT '{}', cutover_requested boolean NOT NULL DEFAULT false,
      rollback_requested boolean NOT NULL DEFAULT false, created_at double precision NOT NULL,
      updated_at double precision NOT NULL);
    CREATE TABLE )sql" +
                s + R"sql(.events(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      migration text NOT NULL REFERENCES )sql" +
                s + R"sql(.migrations(name),
      at double precision NOT NULL, from_phase integer NOT NULL, to_phase integer NOT NULL,
      reason text NOT NULL);
    CREATE INDEX events_migration_id ON )sql" +
                s + R"sql(.events(migration, id);
    CREATE TABLE )sql" +
                s + R"sql(.runner_leases(
      migration text PRIMARY KEY REFERENCES )sql" +
                s + R"sql(.migrations(name),
      owner text NOT NULL, token bigint NOT NULL, expires_at double precision NOT NULL);
    INSERT INTO )sql" +
                s + R"sql(.migrations(name, phase, spec, data, cutover_requested,
      created_at, updated_at) VALUES ('old', 4, '{"source":"host=x"}', '{"k":1}', true, 1, 2);
    INSERT INTO )sql" +
                s + R"sql(.events(migration, at, from_phase, to_phase, reason)
      VALUES ('old', 2, 3, 4, 'validated');
    INSERT INTO )sql" +
                s + R"sql(.runner_leases VALUES ('old', 'host:1:a', 7, 1000);
  )sql");

  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(SchemaVersion(), std::to_string(PostgresStore::kSchemaVersion));
  auto old = store->Get("old");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->phase, Phase::kReadyForCutover);
  EXPECT_EQ(old->data["k"], 1);
  EXPECT_EQ(old->spec["source"], "host=x");
  EXPECT_TRUE(old->cutover_requested);
  auto events = store->Events("old");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].to_phase, Phase::kReadyForCutover);
  // The lease taken under the old schema still holds, with its token.
  auto busy = store->AcquireRunner("old", "host:2:b", kTtl, 10, "");
  ASSERT_TRUE(busy.ok()) << busy.status().ToString();
  EXPECT_FALSE(busy->acquired);
  EXPECT_EQ(busy->holder, "host:1:a");
  EXPECT_DOUBLE_EQ(*store->CheckRunner("old", {"host:1:a", 7}), 1000);
  EXPECT_TRUE(
      store->MergeData("old", {"host:1:a", 7}, Phase::kReadyForCutover, {{"j", 2}}, 11).ok());
  // What version 3 added works, and new migrations list after the old one.
  EXPECT_EQ(*store->NextRouteVersion("proxy cluster old"), 1u);
  CreateMigration(*store, "new");
  auto all = store->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "old");
  // Opening again changes nothing.
  auto again = Open();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->NextRouteVersion("proxy cluster old"), 2u);
  auto took = again->AcquireRunner("old", "host:2:b", kTtl, 2000, "");
  ASSERT_TRUE(took.ok() && took->acquired);
  EXPECT_EQ(took->lease.token, 8);
}

TEST_F(PostgresStoreTest, ASchemaFromANewerPgshiftIsRefusedAndLeftAlone) {
  ASSERT_TRUE(Open());
  cluster_->Sql("UPDATE \"" + schema_ + "\".pgshift_meta SET value = '99'");
  auto s = PostgresStore::Open(cluster_->ConnString(), schema_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  const std::string& m = s.status().message();
  EXPECT_NE(m.find("newer"), std::string::npos) << m;
  EXPECT_NE(m.find("99"), std::string::npos) << m;
  EXPECT_NE(m.find(schema_), std::string::npos) << m;
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(cluster_->port())), std::string::npos) << m;
  EXPECT_EQ(m.find(PgCluster::kPassword), std::string::npos) << m;
  EXPECT_EQ(SchemaVersion(), "99");
}

TEST_F(PostgresStoreTest, SchemasInOneDatabaseAreSeparateFleets) {
  auto a = Open();
  auto other = PostgresStore::Open(cluster_->ConnString(), schema_ + "_other");
  ASSERT_TRUE(a && other.ok()) << other.status().ToString();
  CreateMigration(*a, "m");
  EXPECT_EQ((*other)->Get("m").status().code(), Code::kNotFound);
  EXPECT_EQ((*other)->schema(), schema_ + "_other");
  EXPECT_NE((*other)->Location().find("(schema " + schema_ + "_other)"), std::string::npos);
}

TEST_F(PostgresStoreTest, TheLocationAndTheErrorsNameTheServerButNeverThePassword) {
  const std::string port = std::to_string(cluster_->port());
  // Both spellings of the location, each with its password.
  for (const std::string& conninfo :
       {cluster_->ConnString(), "postgresql://postgres:" + std::string(PgCluster::kPassword) +
                                    "@127.0.0.1:" + port + "/postgres"}) {
    auto opened = OpenMigrationStore(conninfo, {.postgres_schema = schema_});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto& store = *opened->store;
    ASSERT_NE(dynamic_cast<PostgresStore*>(&store), nullptr);
    EXPECT_NE(store.Location().find("127.0.0.1"), std::string::npos) << store.Location();
    EXPECT_NE(store.Location().find(port), std::string::npos) << store.Location();
    EXPECT_EQ(store.Location().find(PgCluster::kPassword), std::string::npos) << store.Location();
    auto missing = store.Get("nope");
    EXPECT_EQ(missing.status().code(), Code::kNotFound);
    EXPECT_EQ(missing.status().message().find(PgCluster::kPassword), std::string::npos);
  }
  // Nobody listens there: unavailable, naming host:port.
  auto free_port = ReservePort();
  ASSERT_TRUE(free_port.ok());
  auto down = PostgresStore::Open("host=127.0.0.1 port=" + std::to_string(*free_port) +
                                      " user=postgres password=" + PgCluster::kPassword,
                                  schema_);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable);
  EXPECT_NE(down.status().message().find("127.0.0.1:" + std::to_string(*free_port)),
            std::string::npos)
      << down.status().message();
  EXPECT_EQ(down.status().message().find(PgCluster::kPassword), std::string::npos);
  // A wrong password is the server's refusal, not an outage.
  auto refused = PostgresStore::Open(cluster_->Conn().With("password", "wrong-one").raw(), schema_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status().ToString();
  EXPECT_EQ(refused.status().message().find("wrong-one"), std::string::npos);
}

TEST(PostgresStoreRestart, AStoppedServerIsUnavailableAndTheNextCallAfterItsRestartReconnects) {
  auto cluster = PgCluster::Primary();
  auto opened = PostgresStore::Open(cluster->ConnString());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = **opened;
  MigrationRecord r;
  r.name = "m";
  ASSERT_TRUE(store.Create(r, 100).ok());
  auto g = store.AcquireRunner("m", "host-a:1:1", kTtl, 100, "");
  ASSERT_TRUE(g.ok() && g->acquired);
  const std::string where = "127.0.0.1:" + std::to_string(cluster->port());
  auto expect_unavailable = [&](const Status& st) {
    EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
    EXPECT_NE(st.message().find(where), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find(PgCluster::kPassword), std::string::npos) << st.message();
  };

  // Stopped mid-use: the open connection breaks, then nobody answers.
  ASSERT_TRUE(cluster->instance().Stop().ok());
  expect_unavailable(store.MergeData("m", g->lease, Phase::kCreated, {{"x", 1}}, 101));
  expect_unavailable(store.Get("m").status());
  expect_unavailable(store.CheckRunner("m", g->lease).status());
  ASSERT_TRUE(cluster->instance().Start().ok());
  // Back: the next call connects anew; the lease and the data are as they were.
  auto back = store.Get("m");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->data.contains("x"));
  EXPECT_TRUE(store.CheckRunner("m", g->lease).ok());
  EXPECT_TRUE(store.MergeData("m", g->lease, Phase::kCreated, {{"x", 2}}, 102).ok());

  // pg_ctl restart between two calls: the first finds its connection gone, the next works.
  ASSERT_TRUE(cluster->instance().Stop().ok());
  ASSERT_TRUE(cluster->instance().Start().ok());
  expect_unavailable(store.RenewRunner("m", g->lease, kTtl, 103));
  EXPECT_TRUE(store.RenewRunner("m", g->lease, kTtl, 103).ok());
  EXPECT_EQ(store.Get("m")->data["x"], 2);
}

TEST(PostgresStoreCli, MigrateListOpensAPostgresStoreAndHidesItsPassword) {
  auto cluster = PgCluster::Primary();
  for (const std::string& location :
       {cluster->ConnString(), "postgresql://postgres:" + std::string(PgCluster::kPassword) +
                                   "@127.0.0.1:" + std::to_string(cluster->port()) + "/postgres"}) {
    auto out = RunCommand({PGSHIFT_BINARY, "--store", location, "migrate", "list"});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->exit_code, 0) << out->output;
    EXPECT_NE(out->output.find("no migrations in "), std::string::npos) << out->output;
    EXPECT_NE(out->output.find("(schema pgshift)"), std::string::npos) << out->output;
    EXPECT_NE(out->output.find("warning: the password in --store"), std::string::npos)
        << out->output;
    EXPECT_EQ(out->output.find(PgCluster::kPassword), std::string::npos) << out->output;
  }
  // The store made its schema in that database.
  EXPECT_EQ(cluster->Value("SELECT value FROM pgshift.pgshift_meta WHERE key = 'schema_version'"),
            std::to_string(PostgresStore::kSchemaVersion));
  // Through the environment: no warning (the environment is not public).
  auto quiet = RunCommand({PGSHIFT_BINARY, "migrate", "list", "--json"},
                          {.env = {{"PGSHIFT_STORE", cluster->ConnString()}}});
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->exit_code, 0) << quiet->output;
  EXPECT_EQ(quiet->output, "[]\n");
}

// A whole migration through the real pgshift binary with its state in PostgreSQL (a server of
// its own: the source is fenced during the cutover): it completes under load with nothing
// lost, and the store's tables hold its phases.
TEST(PostgresStoreMigration, CompletesUnderLoadWithItsStateInPostgres) {
  auto store = PgCluster::Primary();
  // The store's password in a password file, as the README advises (no warning on stderr, so
  // --json output stays JSON).
  TempDir dir;
  const std::string passfile = dir.path() + "/pgpass";
  {
    std::ofstream f(passfile);
    f << "127.0.0.1:" << store->port() << ":*:postgres:" << PgCluster::kPassword << "\n";
  }
  std::filesystem::permissions(
      passfile, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  MigrationHarness h({.store = "host=127.0.0.1 port=" + std::to_string(store->port()) +
                               " dbname=postgres user=postgres passfile=" + passfile});
  h.Start({"--auto-cutover"});
  auto run = h.Pgshift({"migrate", "run", "m1"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find(PgCluster::kPassword), std::string::npos);
  auto s = h.Status();
  EXPECT_EQ(s["state"], "completed");
  EXPECT_EQ(h.StopLoadAndCountLost(h.TargetConn()), 0u);
  EXPECT_GT(h.LoadReport().commits, 0u);
  EXPECT_EQ(store->Value("SELECT phase FROM pgshift.migrations WHERE name = 'm1'"),
            std::to_string(static_cast<int>(Phase::kCompleted)));
  EXPECT_EQ(store->Value("SELECT count(*) FROM pgshift.events WHERE migration = 'm1'"),
            std::to_string(s["phases"].size() + 1));
  EXPECT_EQ(store->Value("SELECT owner FROM pgshift.runner_leases WHERE migration = 'm1'"), "")
      << "the runner gave its lease back";
  auto list = h.Pgshift({"migrate", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("m1"), std::string::npos) << list.output;
}

}  // namespace
}  // namespace pgshift::testing
