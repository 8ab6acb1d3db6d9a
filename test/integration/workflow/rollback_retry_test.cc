// A rollback finishes in one run when what it needs is down for a moment (docs/chaos.md
// finding 6): `migrate run` used to exit leaving the migration in rolling_back where a second
// run then finished it.
//
//   - the rollback after promotion pauses the proxies, and the proxy's admin port refuses (it
//     is being restarted): a proxy that does not answer is kUnavailable, retried with backoff;
//   - the rollback after promotion pauses the proxies, and a session still in a transaction
//     keeps the pause from draining (a target cut off from the proxies, chaos finding 11): the
//     pause is retried until the session ends;
//   - the rollback before promotion unfences the source, and the source stops between the
//     read-only layer's lift and the pg_hba.conf reload ("pg_ctl: PID file ... does not
//     exist"): a server not running is kUnavailable, retried until it is back.
//
// Real servers, a real proxy (in process, restarted from its config file and route file as the
// chaos campaign restarts one), the real `pgshift` binary up to the fault (killed with
// PGSHIFT_CRASH_AFTER), then the engine in this process for the rollback. The fault's end is
// tied to the engine's own retry: the test's clock starts the proxy (or the source) again at
// the engine's first backoff sleep, so there is no sleep in the test and the fault surely
// struck before the retry.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "fixture/migration_harness.h"
#include "http/http_client.h"
#include "platform/hba_fence.h"
#include "platform/port_reservation.h"
#include "proxy/proxy_config.h"
#include "proxy/proxy_server.h"
#include "store/sqlite_store.h"
#include "workflow/engine.h"

namespace pgshift::testing {
namespace {

namespace fs = std::filesystem;

// The real clock, except that the engine's first sleep (the backoff after its first retried
// error: nothing in these rollbacks sleeps on the engine's clock before that) first ends the
// fault.
class FaultEndingClock : public Clock {
 public:
  explicit FaultEndingClock(std::function<void()> end_fault) : end_fault_(std::move(end_fault)) {}
  TimePoint Now() const override { return Clock::Real().Now(); }
  double WallSeconds() const override { return Clock::Real().WallSeconds(); }
  void SleepFor(Duration d) override {
    if (end_fault_) {
      first_sleep = d;
      auto end = std::move(end_fault_);
      end_fault_ = nullptr;
      end();
    }
    Clock::Real().SleepFor(d);
  }
  std::optional<Duration> first_sleep;  // when the fault was ended

 private:
  std::function<void()> end_fault_;
};

void WriteSecret(const std::string& path, const std::string& text) {
  std::ofstream(path) << text << "\n";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

void RequestRollback(const std::string& store_path) {
  auto store = SqliteStore::Open(store_path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)
                  ->RequestRollback(MigrationHarness::kName, nlohmann::json::object(),
                                    Clock::Real().WallSeconds())
                  .ok());
}

// Runs the migration in this process (taking the lease over from the killed `pgshift`).
Result<TurnOutcome> RunEngine(const std::string& store_path, Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(store_path));
  auto progress = MakeSilentProgress();
  Engine engine(*store, clock, *progress);
  return engine.Run(MigrationHarness::kName, {});
}

std::string StateOf(MigrationHarness& h) { return h.Status()["state"].get<std::string>(); }

constexpr const char* kCluster = "appdb";

// A pgshift proxy in this process for the harness's source, from a config file (its switched
// routes persist beside it, so a restart keeps them, as for `pgshift proxy --config`).
class RestartableProxy {
 public:
  RestartableProxy(const PgCluster& source, const std::string& dir) {
    token_file_ = dir + "/admin.token";
    WriteSecret(token_file_, "admin-token-rollback-retry");
    const std::string password_file = dir + "/app.password";
    WriteSecret(password_file, MigrationHarness::kAppPassword);
    port_ = *ReservePort();
    admin_port_ = *ReservePort();
    config_path_ = dir + "/proxy.ini";
    std::ofstream(config_path_) << "[proxy]\nlisten = 127.0.0.1:" << port_
                                << "\nadmin_listen = 127.0.0.1:" << admin_port_
                                << "\nadmin_token_file = " << token_file_
                                << "\nthreads = 1\nclient_tls = off\n\n[cluster " << kCluster
                                << "]\nhost = 127.0.0.1\nport = " << source.port()
                                << "\ndatabase = postgres\nuser = " << MigrationHarness::kAppUser
                                << "\npassword_file = " << password_file << "\n";
    Start();
  }
  ~RestartableProxy() { Stop(); }

  void Start() {
    auto config = proxy::LoadProxyConfig(config_path_);
    if (!config.ok()) throw std::runtime_error(config.status().ToString());
    auto server = proxy::ProxyServer::Start(*config);
    if (!server.ok()) throw std::runtime_error(server.status().ToString());
    server_ = std::move(server).value();
  }
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
  }

  std::string admin_address() const { return "127.0.0.1:" + std::to_string(admin_port_); }
  const std::string& token_file() const { return token_file_; }
  // The route for the cluster: {"host","port","version","paused",...}.
  nlohmann::json Route() const {
    HttpRequest request;
    request.method = "GET";
    request.path = "/v1/routes";
    request.headers["authorization"] = "Bearer admin-token-rollback-retry";
    auto r = HttpClient(admin_address()).Send(request, std::chrono::seconds(10));
    if (!r.ok()) return {{"error", r.status().ToString()}};
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("routes") || !j["routes"].contains(kCluster)) {
      return {{"error", r->body}};
    }
    return j["routes"][kCluster];
  }
  // The application's endpoint through the proxy.
  ConnInfo AppEndpoint() const {
    return ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + kCluster +
                               " user=" + MigrationHarness::kAppUser +
                               " sslmode=disable connect_timeout=10",
                           "app")
        .value();
  }

 private:
  std::string config_path_, token_file_;
  int port_ = 0, admin_port_ = 0;
  std::unique_ptr<proxy::ProxyServer> server_;
};

// `migrate start` of the harness's migration with the proxy as its router, and `options`.
CommandOutput StartBehind(MigrationHarness& h, const RestartableProxy& proxy,
                          const std::vector<std::string>& options) {
  std::vector<std::string> args = {"migrate",
                                   "start",
                                   MigrationHarness::kName,
                                   "--source",
                                   h.source().ConnString(),
                                   "--create-target",
                                   h.target_dir(),
                                   "--proxy-admin",
                                   proxy.admin_address(),
                                   "--proxy-token-file",
                                   proxy.token_file(),
                                   "--proxy-cluster",
                                   kCluster};
  args.insert(args.end(), options.begin(), options.end());
  return h.Pgshift(args);
}

TEST(RollbackRetry, AProxyRefusingTheRollbacksPauseForAMomentIsRetried) {
  MigrationHarness h({.load_clients = 0});
  TempDir dir("pgshift-rollback-retry");
  RestartableProxy proxy(h.source(), dir.path());
  auto started = StartBehind(h, proxy,
                             {"--check-window", "1", "--fence-deadline", "5", "--drain-timeout",
                              "10", "--cdc-timeout", "10", "--auto-cutover"});
  ASSERT_EQ(started.exit_code, 0) << started.output;
  // Promoted, slots recorded on the target; then the engine dies (the rollback after
  // promotion will pause the proxies before it fences the target and routes back).
  auto crashed = h.Pgshift({"migrate", "run", MigrationHarness::kName},
                           {{"PGSHIFT_CRASH_AFTER", "slot_handover"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;

  proxy.Stop();  // its admin port refuses connections until the engine's first retry
  RequestRollback(h.store_path());
  FaultEndingClock clock([&] { proxy.Start(); });
  auto run = RunEngine(h.store_path(), clock);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->phase, Phase::kRolledBack);
  ASSERT_TRUE(clock.first_sleep.has_value()) << "the rollback never met the refusing proxy";
  EXPECT_EQ(*clock.first_sleep, std::chrono::milliseconds(100)) << "the first backoff";

  EXPECT_EQ(StateOf(h), "rolled_back");
  nlohmann::json route = proxy.Route();
  EXPECT_EQ(route.value("port", 0), h.source().port()) << route.dump();
  EXPECT_EQ(route.value("paused", true), false) << route.dump();
  EXPECT_TRUE(h.AppCanWrite(proxy.AppEndpoint())) << "the source takes writes through the proxy";
}

TEST(RollbackRetry, ASessionInATransactionHoldingTheRollbacksPauseBackIsWaitedFor) {
  MigrationHarness h({.load_clients = 0});
  TempDir dir("pgshift-rollback-retry");
  RestartableProxy proxy(h.source(), dir.path());
  auto started = StartBehind(
      h, proxy,
      {"--check-window", "1", "--pause-deadline", "1", "--pause-lease", "1", "--auto-cutover"});
  ASSERT_EQ(started.exit_code, 0) << started.output;
  auto app =
      PgConnection::Connect(proxy.AppEndpoint().With("password", MigrationHarness::kAppPassword));
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  auto crashed = h.Pgshift({"migrate", "run", MigrationHarness::kName},
                           {{"PGSHIFT_CRASH_AFTER", "slot_handover"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;

  // The dead engine's pause lapses (1 s lease); then the session opens a transaction, which
  // the rollback's pause (1 s deadline) cannot drain until it ends, at the engine's first
  // retry.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (proxy.Route().value("paused", true) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(proxy.Route().value("paused", true)) << proxy.Route().dump();
  ASSERT_TRUE(app->Exec("BEGIN").ok());
  ASSERT_TRUE(app->Exec("SELECT 1").ok());
  RequestRollback(h.store_path());
  FaultEndingClock clock([&] { EXPECT_TRUE(app->Exec("COMMIT").ok()); });
  auto run = RunEngine(h.store_path(), clock);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->phase, Phase::kRolledBack);
  ASSERT_TRUE(clock.first_sleep.has_value()) << "the rollback's pause never met the transaction";
  EXPECT_EQ(StateOf(h), "rolled_back");
  nlohmann::json route = proxy.Route();
  EXPECT_EQ(route.value("port", 0), h.source().port()) << route.dump();
  EXPECT_EQ(route.value("paused", true), false) << route.dump();
}

// PGSHIFT_PG_BINDIR pointing at a copy of PostgreSQL's bin directory whose pg_ctl, once armed,
// stops the source (immediate, as a crash) right before the first reload asked of it.
class SourceStopAtReload {
 public:
  SourceStopAtReload(const PgCluster& source, const std::string& dir)
      : bin_(dir + "/bin"), armed_(dir + "/bin/armed") {
    const std::string real = LocalInstance::BinDir();
    fs::create_directories(bin_);
    for (const auto& entry : fs::directory_iterator(real)) {
      if (entry.path().filename() != "pg_ctl") {
        fs::create_symlink(entry.path(), bin_ + "/" + entry.path().filename().string());
      }
    }
    std::ofstream(bin_ + "/pg_ctl")
        << "#!/bin/sh\n"
        << "# test fault: the source stops just before the reload pgshift asks of it\n"
        << "if [ \"$1\" = -D ] && [ \"$2\" = '" << source.data_dir() << "' ] && [ \"$3\" = reload ]"
        << " && [ -e '" << armed_ << "' ]; then\n"
        << "  rm -f '" << armed_ << "'\n"
        << "  '" << real << "/pg_ctl' -D \"$2\" stop -m immediate >/dev/null 2>&1\n"
        << "fi\n"
        << "exec '" << real << "/pg_ctl' \"$@\"\n";
    // pg_ctl runs as postgres: it must run the script and remove the armed file.
    chmod(bin_.c_str(), 0777);
    chmod((bin_ + "/pg_ctl").c_str(), 0755);
    chmod(dir.c_str(), 0755);
    const char* before = std::getenv("PGSHIFT_PG_BINDIR");
    if (before) previous_ = before;
    setenv("PGSHIFT_PG_BINDIR", bin_.c_str(), 1);
  }
  ~SourceStopAtReload() {
    if (previous_) {
      setenv("PGSHIFT_PG_BINDIR", previous_->c_str(), 1);
    } else {
      unsetenv("PGSHIFT_PG_BINDIR");
    }
  }
  void Arm() { std::ofstream(armed_) << "armed\n"; }
  bool Struck() const { return !fs::exists(armed_); }

 private:
  std::string bin_, armed_;
  std::optional<std::string> previous_;
};

TEST(RollbackRetry, ASourceStoppedDuringTheRollbacksUnfenceIsWaitedFor) {
  MigrationHarness h({.load_clients = 0});
  h.Start({"--auto-cutover"});
  // Fenced, final LSN recorded, not promoted: the rollback unfences the source.
  auto crashed =
      h.Pgshift({"migrate", "run", MigrationHarness::kName}, {{"PGSHIFT_CRASH_AFTER", "draining"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.output;
  ASSERT_EQ(h.source().Value("SHOW default_transaction_read_only"), "on");

  TempDir dir("pgshift-rollback-retry");
  SourceStopAtReload fault(h.source(), dir.path());
  fault.Arm();
  RequestRollback(h.store_path());
  bool restarted = false;
  FaultEndingClock clock([&] {
    if (!h.source().instance().Running()) {
      restarted = true;
      Status st = h.source().instance().Start();
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  });
  auto run = RunEngine(h.store_path(), clock);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->phase, Phase::kRolledBack);
  EXPECT_TRUE(fault.Struck()) << "the source was never stopped at the reload";
  EXPECT_TRUE(restarted) << "the engine retried before the source was back";

  EXPECT_EQ(StateOf(h), "rolled_back");
  EXPECT_EQ(h.source().Value("SHOW default_transaction_read_only"), "off");
  EXPECT_FALSE(fs::exists(h.source().data_dir() + "/" + kHbaBackupName));
  EXPECT_TRUE(h.AppCanWrite(h.source().Conn()));
}

}  // namespace
}  // namespace pgshift::testing
