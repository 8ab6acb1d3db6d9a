// The demo's run: build the scene, migrate it with the real engine, measure, clean up.
#include "demo/demo_command.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/process.h"
#include "demo/cdc_consumer.h"
#include "demo/commit_checker.h"
#include "demo/demo_proxy.h"
#include "demo/demo_source.h"
#include "demo/pgbench_load.h"
#include "demo/secret_file.h"
#include "pg/connection.h"
#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "store/sqlite_store.h"
#include "workflow/engine.h"
#include "workflow/migration_status.h"
#include "workflow/route_file.h"
#include "workflow/router_spec.h"
#include "workflow/start_migration.h"

namespace fs = std::filesystem;

namespace pgshift::demo {
namespace {

constexpr const char* kMigration = "demo";
constexpr const char* kSlot = "pgshift_demo_cdc";
constexpr const char* kAppUser = "app";

// Owns the demo's directory and servers; stops and removes them unless asked to keep them.
class Workspace {
 public:
  explicit Workspace(const DemoOptions& o) : keep_(o.keep) {
    if (o.dir.empty()) {
      std::string tmpl = "/tmp/pgshift-demo-XXXXXX";
      dir_ = mkdtemp(tmpl.data()) ? tmpl : "";
    } else {
      dir_ = fs::absolute(o.dir).string();
      fs::create_directories(dir_);
    }
    fs::permissions(dir_, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
  }
  ~Workspace() {
    if (keep_) return;
    for (const char* d : {"/target", "/source"}) {
      auto inst = LocalInstance::Attach(dir_ + d, "");
      if (inst.ok()) (void)inst->Stop(/*immediate=*/true);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }

 private:
  bool keep_;
  std::string dir_;
};

// Moves the CDC consumer to the new primary once the migration has completed, as an
// operator's CDC pipeline would be repointed: completion means the consumer confirmed the CDC
// fence point on the old source's slot (pgshift dropped that slot only then), and the new
// primary's slot starts at the promotion, so nothing is skipped or read twice.
class ConsumerFollower {
 public:
  ConsumerFollower(CdcConsumer& consumer, std::string store_path, ConnInfo target)
      : consumer_(consumer),
        store_path_(std::move(store_path)),
        target_(std::move(target)),
        thread_([this] { Loop(); }) {}
  ~ConsumerFollower() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Loop() {
    auto store = SqliteStore::Open(store_path_);
    while (!stop_ && store.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto r = (*store)->Get(kMigration);
      if (!r.ok()) continue;
      Phase p = r->phase;
      if (p == Phase::kCompleted) {
        (void)consumer_.Restart(target_);
        return;
      }
    }
  }
  CdcConsumer& consumer_;
  std::string store_path_;
  ConnInfo target_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

nlohmann::json CheckVerdicts(const nlohmann::json& status) {
  nlohmann::json out = nlohmann::json::array();
  if (!status.contains("checks")) return out;
  for (const auto& c : status["checks"].value("checks", nlohmann::json::array())) {
    out.push_back({{"name", c.value("name", "")},
                   {"verdict", c.value("verdict", "")},
                   {"evidence", c.value("evidence", nlohmann::json::object())}});
  }
  return out;
}

}  // namespace

Result<nlohmann::json> RunDemo(const DemoOptions& o, ProgressSink& progress) {
  Workspace ws(o);
  if (ws.dir().empty()) return Unavailable("cannot create a temporary directory under /tmp");
  const std::string password = RandomSecret();
  const std::string app_password = RandomSecret();
  progress.Update({Phase::kCreated, "starting the source cluster in " + ws.dir()});
  ASSIGN_OR_RETURN(LocalInstance source, StartDemoSource(ws.dir(), password));
  ConnInfo super = source.Conn();
  RETURN_IF_ERROR(CreateAppRole(super, kAppUser, app_password));
  ConnInfo app = super.With("user", kAppUser).With("password", app_password);
  progress.Update({Phase::kCreated, "pgbench -i -s " + std::to_string(o.pgbench_scale)});
  RETURN_IF_ERROR(PgbenchLoad::Init(app, o.pgbench_scale));

  // Without the proxy, the application finds its endpoint in a route file the migration
  // switches; with it, the application only ever knows the proxy.
  const std::string route_file = ws.dir() + "/route.json";
  RETURN_IF_ERROR(WriteRouteFile(route_file, {1, {"127.0.0.1", source.port()}, false}));
  std::optional<DemoProxy> dal;
  EndpointFn endpoint = [route_file, app]() {
    auto r = ReadRouteFile(route_file);
    return r.ok() ? app.With("port", std::to_string(r->endpoint.port)) : app;
  };
  EndpointFn pgbench_endpoint = endpoint;
  nlohmann::json router = RouterSpec::File(route_file).ToJson();
  if (o.through_proxy) {
    progress.Update({Phase::kCreated, "starting pgshift proxy (mutual TLS)"});
    ASSIGN_OR_RETURN(dal, DemoProxy::Start(ws.dir(), source.port(), kAppUser, app_password));
    ConnInfo via_proxy = dal->AppEndpoint();
    endpoint = [via_proxy]() { return via_proxy; };
    ASSIGN_OR_RETURN(ConnInfo for_pgbench, dal->PostgresUserEndpoint(ws.dir()));
    pgbench_endpoint = [for_pgbench]() { return for_pgbench; };
    router = dal->Router();
  }

  const std::string target_dir = ws.dir() + "/target";
  ASSIGN_OR_RETURN(int target_port, ReservePort());
  RETURN_IF_ERROR(CdcConsumer::EnsureSlot(super, kSlot));
  ASSIGN_OR_RETURN(
      auto consumer,
      CdcConsumer::Start(super, {.slot = kSlot, .output_path = ws.dir() + "/cdc.out"}));
  ASSIGN_OR_RETURN(auto ledger, CommitChecker::Start(endpoint, {.clients = o.ledger_clients}));
  fs::create_directories(ws.dir() + "/pgbench");
  ASSIGN_OR_RETURN(auto pgbench,
                   PgbenchLoad::Start(pgbench_endpoint, {.clients = o.pgbench_clients,
                                                         .duration = std::chrono::hours(1),
                                                         .log_dir = ws.dir() + "/pgbench"}));
  auto follower = std::make_unique<ConsumerFollower>(
      *consumer, ws.dir() + "/pgshift.db", super.With("port", std::to_string(target_port)));

  ASSIGN_OR_RETURN(auto store, SqliteStore::Open(ws.dir() + "/pgshift.db"));
  StartRequest req;
  req.name = kMigration;
  req.source = super.raw();
  req.create_target_dir = target_dir;
  req.target_port = target_port;
  req.options.auto_cutover = true;
  req.options.check_window = std::chrono::seconds(o.check_window_s);
  req.options.router = router;
  ASSIGN_OR_RETURN(MigrationSpec spec, StartMigration(*store, req, Clock::Real()));
  Engine engine(*store, Clock::Real(), progress);
  auto ran = engine.Run(kMigration, {.wait_at_gate = false});

  // Let the application run on the new primary for a moment, then stop and count.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  pgbench->Stop();
  ledger->Stop();
  follower.reset();
  // Counted on the new primary itself, not through any router.
  ASSIGN_OR_RETURN(uint64_t lost,
                   ledger->CountLostCommits(app.With("port", std::to_string(spec.target_port))));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the consumer catches up
  consumer->Stop();
  ASSIGN_OR_RETURN(DeliveryReport cdc, consumer->Check(ledger->acknowledged()));

  ASSIGN_OR_RETURN(MigrationRecord record, store->Get(kMigration));
  ASSIGN_OR_RETURN(auto events, store->Events(kMigration));
  nlohmann::json status = MigrationStatusJson(record, events);
  CommitChecker::Report lr = ledger->report();
  PgbenchLoad::Report pr = pgbench->report();
  nlohmann::json report = {
      {"status", status["state"]},
      {"phases", status["phases"]},
      {"checks", CheckVerdicts(status)},
      {"max_commit_gap_ms", lr.max_commit_gap_ms},
      {"commit_gap_at", lr.gap_at},
      {"failed_transactions", lr.failed_transactions + pr.failed + pr.aborted_clients},
      {"lost_commits", lost},
      {"cdc_rows_delivered", cdc.delivered},
      {"cdc_rows_missing", cdc.missing},
      {"cdc_rows_duplicated", cdc.duplicated},
      {"cdc_rows_out_of_order", cdc.out_of_order},
      {"ledger", {{"commits", lr.commits}, {"failed_transactions", lr.failed_transactions}}},
      {"pgbench",
       {{"transactions", pr.transactions},
        {"failed_transactions", pr.failed + pr.aborted_clients},
        {"aborted_clients", pr.aborted_clients},
        {"restarts", pr.restarts}}},
      {"source", spec.source.Label()},
      {"target", spec.target.Label()},
      {"final_lsn", status.value("final_lsn", "")},
      {"promote_ms", status.value("promote_ms", 0)},
      {"verify", status.value("verify", nlohmann::json::object())},
      {"work_dir", o.keep ? ws.dir() : ""},
      {"application_path", o.through_proxy ? "pgshift proxy (mutual TLS)" : "direct"},
  };
  if (!ran.ok()) report["error"] = ran.status().message();
  return report;
}

std::string DemoReportText(const nlohmann::json& r) {
  std::string out;
  char buf[512];
  out += "\n== pgshift demo report ==\n";
  out += "application path: " + r.value("application_path", "") + "\n";
  std::snprintf(buf, sizeof buf, "migration %s -> %s: %s\n", r.value("source", "").c_str(),
                r.value("target", "").c_str(), r.value("status", "").c_str());
  out += buf;
  if (r.contains("error")) out += "error: " + r["error"].get<std::string>() + "\n";
  out += "\nphases:\n";
  double total = 0;
  for (const auto& p : r["phases"]) {
    std::snprintf(buf, sizeof buf, "  %-18s %9.3f s\n", p.value("name", "").c_str(),
                  p.value("seconds", 0.0));
    out += buf;
    total += p.value("seconds", 0.0);
  }
  std::snprintf(buf, sizeof buf, "  %-18s %9.3f s\n", "total", total);
  out += buf;
  out += "\nchecks:\n";
  for (const auto& c : r["checks"]) {
    std::snprintf(buf, sizeof buf, "  %-26s %s\n", c.value("name", "").c_str(),
                  c.value("verdict", "").c_str());
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "\napplication:\n  longest gap between commits  %.1f ms (%s)\n"
                "  failed transactions          %llu (ledger %llu, pgbench %llu)\n"
                "  lost commits                 %llu of %llu acknowledged\n",
                r.value("max_commit_gap_ms", 0.0), r.value("commit_gap_at", "").c_str(),
                (unsigned long long)r.value("failed_transactions", 0ull),
                (unsigned long long)r["ledger"].value("failed_transactions", 0ull),
                (unsigned long long)r["pgbench"].value("failed_transactions", 0ull),
                (unsigned long long)r.value("lost_commits", 0ull),
                (unsigned long long)r["ledger"].value("commits", 0ull));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "\nCDC (pg_recvlogical, test_decoding):\n  rows delivered %llu, missing %llu, "
                "duplicated %llu, out of order %llu\n",
                (unsigned long long)r.value("cdc_rows_delivered", 0ull),
                (unsigned long long)r.value("cdc_rows_missing", 0ull),
                (unsigned long long)r.value("cdc_rows_duplicated", 0ull),
                (unsigned long long)r.value("cdc_rows_out_of_order", 0ull));
  out += buf;
  if (r.contains("verify") && r["verify"].contains("data")) {
    const auto& d = r["verify"]["data"];
    std::snprintf(buf, sizeof buf,
                  "\nverify: %d tables, %lld rows compared at the fenced LSN %s, "
                  "%zu mismatches\n",
                  d.value("tables_compared", 0), (long long)d.value("rows_compared", 0ll),
                  r.value("final_lsn", "").c_str(),
                  d.value("mismatches", nlohmann::json::array()).size());
    out += buf;
  }
  return out;
}

}  // namespace pgshift::demo
