// I8, the target is fenced until its logical slots exist, end to end: a whole migration through
// a real proxy (the real engine), a pg_recvlogical consumer on the source's test_decoding slot
// (moved to the new primary's slot once the old one is drained), the application writing
// through the proxy, and a writer AROUND the proxy that holds a connection straight to the
// target's address and inserts as soon as the target takes writes. Every row either writer got
// acknowledged must reach the consumer exactly once: up to the fence point from the old slot,
// after it from the new one. Without the target fence the direct writer commits between the
// promotion and the slot recreation, and those rows reach neither slot.
// Also, at the proxy alone: while a target fence is up, sessions the proxy moves there and new
// ones write, other clients cannot.
#include "platform/target_fence.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "demo/cdc_consumer.h"
#include "demo/commit_checker.h"
#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "proxy_harness.h"
#include "store/sqlite_store.h"
#include "workflow/engine.h"
#include "workflow/progress.h"
#include "workflow/start_migration.h"

namespace pgshift::testing {
namespace {

constexpr const char* kName = "orders-move";
constexpr const char* kSlot = "orders_cdc";
constexpr const char* kDirectRole = "direct_writer";
constexpr const char* kDirectPassword = "direct-writer-pw-1";
constexpr int kDirectClient = 1000;  // its ledger rows' client id (the proxied load uses 0, 1)

// A client around the proxy: one connection straight to `endpoint`, kept as long as the server
// keeps it, inserting ledger rows in a loop; every insert the server acknowledged is recorded.
class DirectWriter {
 public:
  explicit DirectWriter(ConnInfo endpoint) : endpoint_(std::move(endpoint)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~DirectWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<demo::LedgerCommit> acknowledged() const {
    std::lock_guard<std::mutex> l(mu_);
    return acknowledged_;
  }

 private:
  void Run() {
    std::optional<PgConnection> conn;
    int64_t seq = 0;
    while (!stop_) {
      if (!conn) {
        auto c = PgConnection::Connect(endpoint_);
        if (!c.ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          continue;
        }
        conn = std::move(*c);
      }
      ++seq;  // per attempt: a commit whose acknowledgement was lost is an extra row
      Status st = conn->Exec("INSERT INTO " + std::string(demo::kLedgerTable) +
                             " (client, seq, amount, at) VALUES (" + std::to_string(kDirectClient) +
                             ", " + std::to_string(seq) + ", 1, now())");
      if (st.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        acknowledged_.push_back({kDirectClient, seq});
        continue;
      }
      if (!conn->Alive()) conn.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  ConnInfo endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<demo::LedgerCommit> acknowledged_;
};

class TargetFenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = h_.dir.path() + "/admin.token";
    std::ofstream(token_file_) << kAdminToken << "\n";
    target_dir_ = h_.dir.path() + "/target";
    // The ledger, owned by the application's role; the direct writer may insert into it.
    ASSERT_TRUE(demo::CreateLedgerTables(h_.primary->Conn("appdb"), 2).ok());
    h_.primary->Sql(std::string("ALTER TABLE ") + demo::kLedgerTable + " OWNER TO app; " +
                        "ALTER TABLE " + demo::kAccountsTable + " OWNER TO app; CREATE ROLE " +
                        kDirectRole + " LOGIN PASSWORD '" + kDirectPassword + "'; GRANT INSERT " +
                        "ON " + demo::kLedgerTable + " TO " + kDirectRole,
                    "appdb");
  }
  void TearDown() override {
    if (std::filesystem::exists(target_dir_ + "/PG_VERSION")) {
      auto target = LocalInstance::Attach(target_dir_, PgCluster::kPassword);
      if (target.ok()) (void)target->Stop(/*immediate=*/true);
    }
  }

  // Runs a whole migration of the harness's primary, automatic cutover through the proxy.
  MigrationRecord Migrate(int target_port) {
    auto store = SqliteStore::Open(h_.dir.path() + "/pgshift.db");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    StartRequest req;
    req.name = kName;
    req.source = h_.primary->Conn().raw();
    req.create_target_dir = target_dir_;
    req.target_port = target_port;
    req.options.auto_cutover = true;
    req.options.check_window = std::chrono::seconds(1);
    req.options.cdc_timeout = std::chrono::seconds(60);
    req.options.router = {
        {"kind", "proxy"},
        {"cluster", "orders"},
        {"proxies",
         nlohmann::json::array({{{"admin", "127.0.0.1:" + std::to_string(h_.proxy->admin_port())},
                                 {"token_file", token_file_}}})}};
    auto spec = StartMigration(**store, req, Clock::Real());
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    auto progress = MakeSilentProgress();
    Engine engine(**store, Clock::Real(), *progress);
    (void)engine.Run(kName, {.wait_at_gate = false});
    return *(*store)->Get(kName);
  }

  ConnInfo TargetAs(int port, const std::string& user, const std::string& password) const {
    return *ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(port) +
                                " dbname=appdb connect_timeout=5 user=" + user +
                                " password=" + password,
                            "target");
  }

  ProxyHarness h_;
  std::string token_file_, target_dir_;
};

TEST_F(TargetFenceTest, RowsWrittenAroundTheProxyReachTheCdcConsumerExactlyOnce) {
  TempDir dir("pgshift-target-fence");
  const std::string output = dir.path() + "/cdc.out";
  ASSERT_TRUE(demo::CdcConsumer::EnsureSlot(h_.primary->Conn("appdb"), kSlot).ok());
  auto consumer = demo::CdcConsumer::Start(h_.primary->Conn("appdb"), {kSlot, output});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  // The application, through the proxy.
  proxy::ClientCert cert = h_.pki.Client("svc-orders");
  const ConnInfo through_proxy = *ConnInfo::Parse(h_.ConnString(&cert), "proxy");
  auto app = demo::CommitChecker::Start([&] { return through_proxy; }, {.clients = 2});
  ASSERT_TRUE(app.ok()) << app.status().ToString();

  const int target_port = *ReservePort();
  DirectWriter direct(TargetAs(target_port, kDirectRole, kDirectPassword));
  MigrationRecord r = Migrate(target_port);
  ASSERT_EQ(r.phase, Phase::kCompleted) << r.data.dump();
  EXPECT_FALSE(r.data.value("target_fenced", false)) << "the fence must be lifted";

  // The old slot is drained to the fence point (verify waited for it): follow the new one.
  ConnInfo target_appdb = TargetAs(target_port, "postgres", PgCluster::kPassword);
  ASSERT_TRUE((*consumer)->Restart(target_appdb).ok());
  // The direct writer goes on until the fence is lifted and it wrote on the new primary.
  for (int i = 0; i < 1500 && direct.acknowledged().size() < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  direct.Stop();
  (*app)->Stop();
  std::vector<demo::LedgerCommit> acked = (*app)->acknowledged();
  const std::vector<demo::LedgerCommit> around = direct.acknowledged();
  ASSERT_FALSE(around.empty()) << "the direct writer never wrote on the new primary";
  acked.insert(acked.end(), around.begin(), around.end());

  demo::DeliveryReport report;
  for (int i = 0; i < 600; ++i) {
    report = *(*consumer)->Check(acked);
    if (report.missing == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (*consumer)->Stop();
  EXPECT_EQ(report.missing, 0u) << "I8/I4: rows acknowledged to a client around the proxy "
                                   "reached neither slot; first: "
                                << report.first_problem;
  EXPECT_EQ(report.duplicated, 0u) << report.first_problem;
  EXPECT_EQ(report.out_of_order, 0u) << report.first_problem;
  EXPECT_EQ((*app)->report().failed_transactions, 0u)
      << "the proxied application must not see the target fence";
  auto lost = (*app)->CountLostCommits(target_appdb);
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, 0u);
  RecordProperty("direct_rows", std::to_string(around.size()));
}

// The proxy alone, against an independent cluster standing in for the promoted target with
// its fence up (the fence's own SQL layers): a session moved there by a switch and a new one
// both write; a client around the proxy cannot, until the fence is lifted. A moved session's
// first work after the resume goes out right behind its write-through: what it reads is its
// own answer. A session that chose read-only itself keeps it.
TEST_F(TargetFenceTest, ProxiedSessionsWriteThroughTheTargetFenceOthersDoNot) {
  auto target = PgCluster::Primary();
  ProxyHarness::PrepareBackend(*target);
  target->Sql(std::string("CREATE ROLE ") + kDirectRole + " LOGIN PASSWORD '" + kDirectPassword +
                  "'; GRANT ALL ON items TO " + kDirectRole,
              "appdb");
  auto moved = h_.Connect();
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  ASSERT_TRUE(moved->Exec("SET application_name = 'moved'").ok());
  auto chose_read_only = h_.Connect();
  ASSERT_TRUE(chose_read_only.ok()) << chose_read_only.status().ToString();
  ASSERT_TRUE(chose_read_only->Exec("SET default_transaction_read_only = on").ok());

  auto fence_conn = PgConnection::Connect(target->Conn());
  ASSERT_TRUE(fence_conn.ok());
  TargetFenceOptions options;
  options.orchestrator_user = "postgres";
  options.admitted_roles = {"app"};
  Status fenced = ApplyTargetReadOnly(*fence_conn, options, Clock::Real());
  ASSERT_TRUE(fenced.ok()) << fenced.ToString();

  ASSERT_EQ(
      h_.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":20000})")
          .status,
      200);
  ASSERT_EQ(
      h_.Admin(
            "POST", "/v1/clusters/orders/switch",
            nlohmann::json{{"host", "127.0.0.1"}, {"port", target->port()}, {"version", 5}}.dump())
          .status,
      200);
  ASSERT_EQ(h_.Admin("POST", "/v1/clusters/orders/resume").status, 200);

  auto first_answer = moved->QueryValue("SELECT current_setting('application_name')");
  ASSERT_TRUE(first_answer.ok()) << first_answer.status().ToString();
  EXPECT_EQ(*first_answer, "moved");
  EXPECT_EQ(*moved->QueryValue("SELECT inet_server_port()"), std::to_string(target->port()));
  Status moved_write = moved->Exec("INSERT INTO items VALUES (1, 'moved')");
  EXPECT_TRUE(moved_write.ok()) << moved_write.ToString();
  auto kept = chose_read_only->QueryValue("SHOW default_transaction_read_only");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(*kept, "on") << "the write-through overrode a read-only default the client set";
  EXPECT_EQ(*chose_read_only->QueryValue("SELECT inet_server_port()"),
            std::to_string(target->port()));
  auto fresh = h_.Connect();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  Status fresh_write = fresh->Exec("INSERT INTO items VALUES (2, 'new session')");
  EXPECT_TRUE(fresh_write.ok()) << fresh_write.ToString();

  auto direct = PgConnection::Connect(TargetAs(target->port(), kDirectRole, kDirectPassword));
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();  // no pg_hba layer on this cluster
  Status direct_write = direct->Exec("INSERT INTO items VALUES (3, 'around the proxy')");
  EXPECT_FALSE(direct_write.ok()) << "a client around the proxy wrote on the fenced target";
  EXPECT_NE(direct_write.message().find("read-only"), std::string::npos) << direct_write.ToString();

  ASSERT_TRUE(LiftTargetReadOnly(*fence_conn).ok());
  auto after = PgConnection::Connect(TargetAs(target->port(), kDirectRole, kDirectPassword));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->Exec("INSERT INTO items VALUES (3, 'after the lift')").ok());
  EXPECT_EQ(target->Value("SELECT count(*) FROM items", "appdb"), "3");
}

}  // namespace
}  // namespace pgshift::testing
