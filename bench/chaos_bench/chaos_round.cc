// One chaos round: set up, migrate under load with the plan's fault, hand over to the verdict
// (see chaos_round.h).
#include "chaos_round.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "around_writer.h"
#include "campaign_template.h"
#include "common/clock.h"
#include "common/process.h"
#include "demo/cdc_consumer.h"
#include "demo/commit_checker.h"
#include "demo/endpoint.h"
#include "demo/pgbench_load.h"
#include "loop_volume.h"
#include "network_cut.h"
#include "pg/connection.h"
#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "proxy/dev_pki.h"
#include "proxy_instance.h"
#include "round_verdict.h"
#include "store/sqlite_store.h"
#include "workflow/migration_control.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pgshift::chaos {
namespace {

constexpr const char* kCluster = "appdb";
constexpr const char* kSlot = "chaos_cdc";
constexpr const char* kName = "chaos";
constexpr int kPgbenchClients = 4;

std::string RandomToken() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A directory the postgres user (pgbench, pg_recvlogical, the servers) can write into.
Status MakePostgresDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  chmod(dir.c_str(), 0755);
  if (!RunningAsRoot()) return Status::Ok();
  ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
  if (chown(dir.c_str(), ids.uid, ids.gid) != 0) {
    return Unavailable("cannot hand " + dir + " to the postgres user");
  }
  return Status::Ok();
}

Status HandToPostgres(const std::string& path) {
  if (!RunningAsRoot()) return Status::Ok();
  ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
  if (chown(path.c_str(), ids.uid, ids.gid) != 0) {
    return Unavailable("cannot hand " + path + " to the postgres user");
  }
  return Status::Ok();
}

// What the engine logged (its lines that are not the JSON progress or the final status): the
// error it stopped on, when it stopped on one.
nlohmann::json EngineLogLines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '{' || line[0] == '}' || line[0] == ' ' || line[0] == ']') {
      continue;
    }
    lines.push_back(line.substr(0, 600));
  }
  if (lines.size() > 12) lines.erase(lines.begin(), lines.end() - 12);
  return lines;
}

// The pg_recvlogical this round started (a child of ours streaming from one of the round's own
// servers, told apart from other rounds' by the port on its command line): a fault freezes it
// by process id.
std::optional<pid_t> OurRecvlogical(const std::vector<int>& ports) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = line.substr(open + 1, close - open - 1);
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (comm != "pg_recvlogical" || ppid != getpid()) continue;
    std::ifstream cmd(e.path() / "cmdline");
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    for (char& ch : args) {
      if (ch == '\0') ch = ' ';
    }
    args += ' ';
    for (int port : ports) {
      // ConnInfo renders every value quoted (port='N'); a hand-written one may not be.
      if (port != 0 && (args.find(fmt::format("port='{}'", port)) != std::string::npos ||
                        args.find(fmt::format("port={} ", port)) != std::string::npos)) {
        return std::stoi(name);
      }
    }
  }
  return std::nullopt;
}

class Round {
 public:
  Round(const FaultPlan& plan, const RoundSettings& settings)
      : plan_(plan), settings_(settings), dir_(settings.dir), cut_(plan.round) {}
  ~Round() { Teardown(); }

  json Run() {
    auto t0 = std::chrono::steady_clock::now();
    json out = {{"round", plan_.round},
                {"seed", plan_.seed},
                {"fault", FaultName(plan_.fault)},
                {"moment", MomentName(plan_.moment)},
                {"ending", EndingName(plan_.ending)},
                {"trigger_phase", plan_.trigger_phase},
                {"hold_ms", plan_.hold_ms}};
    Status set = Setup();
    out["setup_seconds"] = Since(t0);
    out["stages"] = stages_;
    out["replica_build_phases"] = gate_phases_;
    if (!set.ok()) {
      out["setup_error"] = set.message();
      out["actions"] = actions_;
      return out;
    }
    auto t1 = std::chrono::steady_clock::now();
    Status cut = Cutover();
    out["cutover_seconds"] = Since(t1);
    if (!cut.ok()) out["cutover_error"] = cut.message();
    StopLoad();
    Stage("cutover", t1);
    if (plan_.fault == Fault::kDiskFull) out["disk_full"] = disk_full_;
    out["phases_seen"] = phases_seen_;
    out["engine_launches"] = engine_launches_;
    out["engine_exits"] = engine_exits_;
    {
      std::lock_guard<std::mutex> l(log_mu_);
      out["actions"] = actions_;
    }
    VerdictInputs in{.control = *control_,
                     .migration = kName,
                     .source = &*source_,
                     .target_dir = target_dir_,
                     .superuser_password = password_,
                     .app_user = kAppUser,
                     .app_password = app_password_,
                     .cluster = kCluster,
                     .slot = kSlot,
                     .ledger = *ledger_,
                     .around = around_.get(),
                     .consumer = *consumer_,
                     .consumer_port = consumer_port_,
                     .pgbench_output = dir_ + "/pgbench.out",
                     .engine_outputs = engine_outputs_,
                     .ended_in_time = ended_in_time_,
                     .engine_gave_up = gave_up_,
                     .rollback_accepted = rollback_accepted_,
                     // The consumer's own re-reads (I4 allows them): after a crash the slot
                     // goes back to its last checkpointed position; a consumer frozen
                     // between writing rows and confirming them reads them again when it
                     // streams anew from its confirmed position.
                     .duplicates_allowed = plan_.fault == Fault::kSourceCrashAfterFence ||
                                           plan_.fault == Fault::kCdcFrozen,
                     .pause_lease = std::chrono::milliseconds(settings_.pause_lease_ms)};
    for (auto& p : proxies_) in.proxies.push_back(p.get());
    if (auto record = store_->Get(kName); record.ok()) in.facts = record->data;
    auto t2 = std::chrono::steady_clock::now();
    out["verdict"] = JudgeRound(in);
    Stage("checker", t2);
    out["stages"] = stages_;
    out["seconds"] = Since(t0);
    return out;
  }

  // Stops everything the round started. Idempotent (the destructor calls it again). Returns
  // the seconds each part took, for the round's "stages".
  json Teardown() {
    json parts = json::object();
    auto t = std::chrono::steady_clock::now();
    auto part = [&](const char* name) {
      parts[name] = std::round(Since(t) * 1000) / 1000;
      t = std::chrono::steady_clock::now();
    };
    if (fault_thread_.joinable()) fault_thread_.join();
    cut_.Restore();
    {
      std::lock_guard<std::mutex> l(engine_mu_);
      if (engine_ && engine_->Running()) {
        engine_->Signal(SIGCONT);
        engine_->Signal(SIGKILL);
        engine_->Wait(std::chrono::seconds(10));
      }
    }
    StopLoad();
    part("engine_and_load");
    if (consumer_) {
      if (auto pid = OurRecvlogical(RoundPorts())) kill(*pid, SIGCONT);
      consumer_->Stop();
    }
    part("consumer");
    proxies_.clear();
    part("proxies");
    // Both servers at once: each pg_ctl stop waits for its own server only.
    std::thread target_stop([this] {
      if (!fs::exists(target_dir_ + "/PG_VERSION")) return;
      auto tgt = LocalInstance::Attach(target_dir_, password_);
      if (tgt.ok()) (void)tgt->Stop(/*immediate=*/true);
    });
    if (source_) (void)source_->Stop(/*immediate=*/true);
    target_stop.join();
    part("servers");
    // After the target stopped: nothing holds the volume any more.
    volume_.Remove();
    part("volume");
    return parts;
  }

 private:
  // The seconds a stage took, in the round's JSON ("stages"), to see where a round's time goes.
  void Stage(const std::string& name, std::chrono::steady_clock::time_point since) {
    stages_[name] = std::round(Since(since) * 1000) / 1000;
  }

  std::vector<int> RoundPorts() const { return {source_ ? source_->port() : 0, target_port_}; }

  void Act(const std::string& what) {
    std::lock_guard<std::mutex> l(log_mu_);
    actions_.push_back({{"at_s", Since(started_)}, {"action", what}});
  }

  bool Interrupted() const { return settings_.interrupted && settings_.interrupted->load(); }

  Result<CommandOutput> Pgshift(std::vector<std::string> args) {
    std::vector<std::string> argv = {settings_.pgshift_binary, "--store", store_path_};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o;
    o.timeout = std::chrono::minutes(3);
    return RunCommand(argv, o);
  }

  Status Setup() {
    started_ = std::chrono::steady_clock::now();
    const CampaignTemplate& tmpl = *settings_.source_template;
    password_ = tmpl.superuser_password();
    app_password_ = tmpl.app_password();
    RETURN_IF_ERROR(MakePostgresDir(dir_));
    store_path_ = dir_ + "/pgshift.db";
    target_dir_ = dir_ + "/target";
    // The source: a copy of the campaign's template (application role, pgbench's tables, the
    // ledger), on the round's own port, and the round's own CDC slot.
    auto t = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(int port, ReservePort());
    ASSIGN_OR_RETURN(LocalInstance src, tmpl.StartCopy(dir_ + "/source", port));
    source_.emplace(std::move(src));
    ConnInfo app_direct = source_->Conn().With("user", kAppUser).With("password", app_password_);
    RETURN_IF_ERROR(demo::CdcConsumer::EnsureSlot(source_->Conn(), kSlot));
    Stage("source", t);

    if (plan_.fault == Fault::kDiskFull) {
      // The target's data directory on a small file system of its own (the source's copy is
      // about 60 MB; the volume leaves room for the replica and its WAL, the filler for the rest).
      t = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(volume_.Create(dir_ + "/target-volume.img", dir_ + "/target-volume", 320));
      target_dir_ = dir_ + "/target-volume/target";
      Stage("disk_volume", t);
    }

    // The proxies: one, or two when the second is to never acknowledge a pause.
    t = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(MakePostgresDir(dir_ + "/proxy"));
    pki_.emplace(tmpl.pki());
    client_.emplace(tmpl.client());
    token_ = RandomToken();
    token_file_ = dir_ + "/proxy/admin.token";
    std::ofstream(token_file_) << token_ << "\n";
    std::ofstream(dir_ + "/proxy/app.password") << app_password_ << "\n";
    chmod(token_file_.c_str(), 0600);
    chmod((dir_ + "/proxy/app.password").c_str(), 0600);
    int proxies = plan_.fault == Fault::kProxyNoAck ? 2 : 1;
    for (int i = 0; i < proxies; ++i) RETURN_IF_ERROR(StartProxy(i));
    Stage("proxies", t);

    // The migration, up to its cutover gate (replica built, checks green) before the load.
    std::vector<std::string> start = {"migrate",
                                      "start",
                                      kName,
                                      "--source",
                                      source_->Conn().raw(),
                                      "--create-target",
                                      target_dir_,
                                      "--proxy-token-file",
                                      token_file_,
                                      "--proxy-cluster",
                                      kCluster,
                                      "--check-window",
                                      "1",
                                      "--pause-lease",
                                      fmt::format("{:.3f}", settings_.pause_lease_ms / 1000.0),
                                      "--fence-deadline",
                                      "5",
                                      "--drain-timeout",
                                      "10",
                                      "--cdc-timeout",
                                      fmt::format("{:.3f}", settings_.cdc_timeout_ms / 1000.0)};
    for (auto& p : proxies_) {
      start.push_back("--proxy-admin");
      start.push_back(p->admin_address());
    }
    t = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(CommandOutput started, Pgshift(start));
    if (started.exit_code != 0) {
      return Internal("migrate start exited " + std::to_string(started.exit_code) + ": " +
                      started.output.substr(0, 2000));
    }
    Stage("migrate_start", t);
    t = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(CommandOutput gate, Pgshift({"migrate", "run", kName, "--no-wait"}));
    ASSIGN_OR_RETURN(store_, SqliteStore::Open(store_path_));
    control_ = std::make_unique<MigrationControl>(*store_, Clock::Real());
    ASSIGN_OR_RETURN(json status, control_->StatusJson(kName));
    if (status.value("phase", "") != "ready_for_cutover") {
      return Internal("the migration stopped in " + status.value("phase", "?") +
                      " instead of at the cutover gate (exit " + std::to_string(gate.exit_code) +
                      "): " + gate.output.substr(0, 2000));
    }
    // Where the engine's part of the replica build went (its phases' durations).
    gate_phases_ = status.value("phases", json::object());
    ASSIGN_OR_RETURN(LocalInstance target, LocalInstance::Attach(target_dir_, password_));
    target_port_ = target.port();
    Stage("replica_build", t);
    if (plan_.fault == Fault::kDiskFull) FillTargetVolume();

    // The load: the CDC consumer first, then the ledger and pgbench through the proxy.
    t = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(consumer_,
                     demo::CdcConsumer::Start(source_->Conn(),
                                              {.slot = kSlot, .output_path = dir_ + "/cdc.out"}));
    consumer_port_ = source_->port();
    // For bench/chaos's trap: a consumer outliving a crashed bench is stopped by its id.
    if (auto pid = OurRecvlogical(RoundPorts())) {
      std::ofstream(settings_.dir + "/../children.pids", std::ios::app) << *pid << "\n";
    }
    ConnInfo through_proxy = ProxyEndpoint(client_->cert, client_->key);
    ASSIGN_OR_RETURN(ledger_, demo::CommitChecker::Start([through_proxy] { return through_proxy; },
                                                         {.clients = kLedgerClients,
                                                          .think = std::chrono::milliseconds(2)}));
    RETURN_IF_ERROR(StartPgbench());
    if (plan_.fault == Fault::kWriterAround) {
      ConnInfo tgt = app_direct.With("port", std::to_string(target_port_));
      around_ = std::make_unique<AroundWriter>(std::vector<ConnInfo>{app_direct, tgt});
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ledger_->report().commits < 50) {
      if (std::chrono::steady_clock::now() > until || Interrupted()) {
        return Unavailable("the ledger did not commit 50 transactions through the proxy in 30 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Stage("load_warmup", t);
    return Status::Ok();
  }

  // disk_full: a filler takes all but kLeave bytes of the target's volume, right after the
  // replica is built. The next WAL segment the replica's receiver opens needs 16 MB, so it
  // meets ENOSPC (its server log, on the same volume, has the room left for the message).
  void FillTargetVolume() {
    constexpr uint64_t kLeave = 4 << 20;
    fill_started_ = std::chrono::steady_clock::now();
    disk_full_["free_before_fill_bytes"] = volume_.FreeBytes();
    auto took = volume_.Fill(kLeave);
    if (!took.ok()) {
      disk_full_["fill_error"] = took.status().message();
      Act("disk_full: " + took.status().message());
      return;
    }
    disk_full_["filler_bytes"] = *took;
    disk_full_["free_after_fill_bytes"] = volume_.FreeBytes();
    Act(fmt::format("target volume filled ({} bytes, {} left)", *took, volume_.FreeBytes()));
  }

  // disk_full, once the load runs: a WAL segment switch on the source makes the replica open
  // a new segment at once; the target's log is watched for ENOSPC until the hold ends, then
  // the filler goes. The round says whether the fault struck.
  void DiskFullHold() {
    if (auto c = PgConnection::Connect(source_->Conn()); c.ok()) {
      (void)c->Exec("SELECT pg_switch_wal()");
    }
    Act("pg_switch_wal() on the source (the replica needs a new segment)");
    auto until = fill_started_ + std::chrono::milliseconds(plan_.hold_ms);
    std::string seen;
    while (std::chrono::steady_clock::now() < until && !Interrupted()) {
      if (seen.empty()) seen = EnospcLine();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (seen.empty()) seen = EnospcLine();
    Status freed = volume_.Unfill();
    disk_full_["enospc_seen"] = !seen.empty();
    if (!seen.empty()) disk_full_["enospc_log_line"] = seen;
    Act(fmt::format("target volume freed after {} ms ({}); ENOSPC in the target's log: {}",
                    plan_.hold_ms, freed.ok() ? "ok" : freed.message(),
                    seen.empty() ? "no" : "yes"));
  }

  std::string EnospcLine() const {
    std::ifstream in(target_dir_ + "/server.log");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("No space left on device") != std::string::npos) return line.substr(0, 400);
    }
    return "";
  }

  ConnInfo ProxyEndpoint(const std::string& cert, const std::string& key) const {
    return ConnInfo::Parse(
               fmt::format("host=127.0.0.1 port={} dbname={} user={} "
                           "sslmode=verify-full sslrootcert={} sslcert={} sslkey={}",
                           proxy_ports_[0], kCluster, kAppUser, pki_->ca_cert, cert, key),
               "proxy")
        .value();
  }

  Status StartProxy(int index) {
    ASSIGN_OR_RETURN(int port, ReservePort());
    ASSIGN_OR_RETURN(int admin, ReservePort());
    std::string pdir = dir_ + "/proxy";
    std::string path = fmt::format("{}/proxy-{}.ini", pdir, index);
    std::ofstream(path) << "[proxy]\nlisten = 127.0.0.1:" << port
                        << "\nadmin_listen = 127.0.0.1:" << admin
                        << "\nadmin_token_file = " << token_file_ << "\nthreads = 2"
                        << "\ntls_cert = " << pki_->server_cert
                        << "\ntls_key = " << pki_->server_key << "\nclient_ca = " << pki_->ca_cert
                        << "\n\n[cluster " << kCluster
                        << "]\nhost = 127.0.0.1\nport = " << source_->port()
                        << "\ndatabase = postgres\nuser = " << kAppUser
                        << "\npassword_file = " << pdir << "/app.password"
                        << "\n\n[identity chaos-app]\ndatabases = " << kCluster
                        << "\nroles = " << kAppUser << "\n";
    ASSIGN_OR_RETURN(auto p, ProxyInstance::Start(settings_.pgshift_binary, path, admin, token_));
    proxies_.push_back(std::move(p));
    proxy_ports_.push_back(port);
    return Status::Ok();
  }

  // pgbench as the postgres user (libpq wants the client key owned by its reader: a copy).
  Status StartPgbench() {
    std::string cert = dir_ + "/proxy/pgbench.crt", key = dir_ + "/proxy/pgbench.key";
    std::error_code ec;
    fs::copy_file(client_->cert, cert, fs::copy_options::overwrite_existing, ec);
    fs::copy_file(client_->key, key, fs::copy_options::overwrite_existing, ec);
    if (ec) return Unavailable("cannot copy the client certificate for pgbench");
    RETURN_IF_ERROR(HandToPostgres(cert));
    RETURN_IF_ERROR(HandToPostgres(key));
    demo::ChildConnection conn = demo::ForChildProcess(ProxyEndpoint(cert, key));
    ProcessOptions po;
    po.run_as = "postgres";
    po.env = conn.env;
    po.env["PGAPPNAME"] = "chaos-pgbench";
    po.stdout_path = dir_ + "/pgbench.out";
    ASSIGN_OR_RETURN(ChildProcess c,
                     ChildProcess::Start(
                         {LocalInstance::BinDir() + "/pgbench", "-n", "-c",
                          std::to_string(kPgbenchClients), "-j", "2", "-T", "900", conn.conninfo},
                         po));
    pgbench_.emplace(std::move(c));
    return Status::Ok();
  }

  Status LaunchEngine(bool first) {
    std::string out = fmt::format("{}/engine-{}.out", dir_, engine_launches_);
    std::vector<std::string> argv = {
        settings_.pgshift_binary, "--store", store_path_, "migrate", "run", kName, "--json"};
    if (first) argv.push_back("--auto-cutover");
    ProcessOptions po;
    po.stdout_path = out;
    if (first && plan_.fault == Fault::kKill9Engine) {
      po.env["PGSHIFT_CRASH_AFTER"] = plan_.trigger_phase;
    }
    ASSIGN_OR_RETURN(ChildProcess c, ChildProcess::Start(argv, po));
    {
      std::lock_guard<std::mutex> l(engine_mu_);
      engine_.emplace(std::move(c));
    }
    engine_outputs_.push_back(out);
    read_offset_ = 0;
    ++engine_launches_;
    Act(first ? "engine started (migrate run --auto-cutover)" : "engine started again");
    return Status::Ok();
  }

  // Transitions the current engine printed since the last call.
  void ReadTransitions() {
    std::ifstream in(engine_outputs_.back());
    in.seekg(static_cast<std::streamoff>(read_offset_));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a partial last line: read it next time
      read_offset_ += line.size() + 1;
      auto j = json::parse(line, nullptr, false);
      if (!j.is_object() || j.value("event", "") != "transition") continue;
      std::string to = j.value("to", "");
      phases_seen_.push_back(to);
      OnPhase(to);
    }
  }

  void OnPhase(const std::string& to) {
    bool before = plan_.ending == Ending::kRollbackBeforePromotion && to == "fencing";
    // After promotion: asked once the switch is recorded, so that the verify turn that follows
    // starts with the request (a request made while the verify step runs is lost: see
    // docs/chaos.md, "rollback_request_lost").
    bool after = plan_.ending == Ending::kRollbackAfterPromotion && to == "switching";
    if (!rollback_requested_ && (before || after)) {
      rollback_requested_ = true;
      Status s = control_->RequestRollback(kName, {.keep_target_writes = after});
      rollback_accepted_ = s.ok();
      Act(fmt::format("rollback requested in {}{}: {}", to, after ? " (keeping target writes)" : "",
                      s.ok() ? "ok" : s.message()));
    }
    if (fault_fired_ || to != plan_.trigger_phase) return;
    switch (plan_.fault) {
      case Fault::kSigstopEngine:
      case Fault::kKill9Proxy:
      case Fault::kTargetCrash:
      case Fault::kSourceCrashAfterFence:
      case Fault::kNetworkCut:
        fault_fired_ = true;
        fault_thread_ = std::thread([this] { InjectTimedFault(); });
        break;
      default:
        break;
    }
  }

  void InjectTimedFault() {
    auto hold = std::chrono::milliseconds(plan_.hold_ms);
    switch (plan_.fault) {
      case Fault::kSigstopEngine: {
        pid_t pid;
        {
          std::lock_guard<std::mutex> l(engine_mu_);
          pid = engine_->pid();
        }
        kill(pid, SIGSTOP);
        Act(fmt::format("engine SIGSTOP in {} for {} ms", plan_.trigger_phase, plan_.hold_ms));
        std::this_thread::sleep_for(hold);
        kill(pid, SIGCONT);
        Act("engine SIGCONT");
        break;
      }
      case Fault::kKill9Proxy: {
        proxies_[0]->Kill9();
        Act("proxy kill -9 in " + plan_.trigger_phase);
        std::this_thread::sleep_for(hold);
        Status s = proxies_[0]->Restart();
        Act("proxy restarted from its config: " + (s.ok() ? std::string("ok") : s.message()));
        break;
      }
      case Fault::kTargetCrash:
      case Fault::kSourceCrashAfterFence: {
        bool target = plan_.fault == Fault::kTargetCrash;
        auto inst = target ? LocalInstance::Attach(target_dir_, password_)
                           : Result<LocalInstance>(*source_);
        if (!inst.ok()) {
          Act("cannot attach to the server to crash: " + inst.status().message());
          break;
        }
        Status stopped = inst->Stop(/*immediate=*/true);
        Act(fmt::format("{} stopped immediate in {}: {}", target ? "target" : "source",
                        plan_.trigger_phase, stopped.ok() ? "ok" : stopped.message()));
        std::this_thread::sleep_for(hold);
        Status s = inst->Start();
        Act(fmt::format("{} started again: {}", target ? "target" : "source",
                        s.ok() ? "ok" : s.message()));
        break;
      }
      case Fault::kNetworkCut: {
        Status s = cut_.Cut(target_port_);
        Act(fmt::format("network to the target cut in {} for {} ms: {}", plan_.trigger_phase,
                        plan_.hold_ms, s.ok() ? "ok" : s.message()));
        std::this_thread::sleep_for(hold);
        cut_.Restore();
        Act("network to the target restored");
        break;
      }
      default:
        break;
    }
  }

  // A rollback after promotion that keeps the target's writes waits, before it rewinds the old
  // source, until the CDC consumers have read the target's slots up to its final position
  // (rollback_target_cdc_lsn in the facts; docs/architecture.md, "Rollback after promotion"):
  // rows written on the target since the switch reach a consumer through those slots only. The
  // round's consumer follows the slots as the docs tell a consumer to: to the target's slot of
  // the same name once that position is recorded (the old source's slot has by then confirmed
  // the fence point); the checker moves it to the writable cluster at the end.
  void FollowRollbackCdc() {
    if (consumer_on_target_ || plan_.ending != Ending::kRollbackAfterPromotion) return;
    if (plan_.fault == Fault::kCdcFrozen && !cdc_thawed_) return;  // SIGCONT comes first
    auto now = std::chrono::steady_clock::now();
    if (now < next_facts_poll_) return;
    next_facts_poll_ = now + std::chrono::milliseconds(200);
    auto record = store_->Get(kName);
    // The rollback asks for the target's slots first while the target still serves (the
    // catch-up point), then inside its pause (the final point).
    if (!record.ok() || (!record->data.contains("rollback_cdc_catch_up_lsn") &&
                         !record->data.contains("rollback_target_cdc_lsn"))) {
      return;
    }
    auto target = LocalInstance::Attach(target_dir_, password_);
    if (!target.ok()) return;
    consumer_on_target_ = true;
    Status moved = consumer_->Restart(target->Conn());
    if (moved.ok()) consumer_port_ = target_port_;
    Act("CDC consumer moved to the target's slot (the rollback keeping its writes waits for it " +
        std::string("to read them): ") + (moved.ok() ? "ok" : moved.message()));
    if (auto pid = OurRecvlogical(RoundPorts())) {
      std::ofstream(settings_.dir + "/../children.pids", std::ios::app) << *pid << "\n";
    }
  }

  // Faults that strike before the engine starts its cutover.
  void InjectUpfrontFault() {
    if (plan_.fault == Fault::kDiskFull && disk_full_.contains("filler_bytes")) {
      fault_thread_ = std::thread([this] { DiskFullHold(); });
    }
    if (plan_.fault == Fault::kProxyNoAck) {
      proxies_[1]->Stop();
      Act("second proxy SIGSTOP (it never acknowledges the pause)");
    }
    if (plan_.fault == Fault::kCdcFrozen) {
      auto pid = OurRecvlogical(RoundPorts());
      if (!pid) {
        Act("no pg_recvlogical to freeze");
        return;
      }
      kill(*pid, SIGSTOP);
      Act(fmt::format("pg_recvlogical SIGSTOP for {} ms", plan_.hold_ms));
      fault_thread_ = std::thread([this, p = *pid] {
        std::this_thread::sleep_for(std::chrono::milliseconds(plan_.hold_ms));
        kill(p, SIGCONT);
        cdc_thawed_ = true;
        Act("pg_recvlogical SIGCONT");
      });
    }
  }

  // Drives the migration to its end: the engine with --auto-cutover, the fault and the
  // ending's rollback request fired from the transitions it prints, the engine started again
  // after a kill -9. Returns when the migration is final, stuck past the deadline, or the
  // engine gave up on an unfinished migration.
  Status Cutover() {
    InjectUpfrontFault();
    RETURN_IF_ERROR(LaunchEngine(true));
    auto deadline = std::chrono::steady_clock::now() + settings_.end_deadline;
    bool restarted = false;
    while (true) {
      ReadTransitions();
      FollowRollbackCdc();
      std::optional<int> code;
      {
        std::lock_guard<std::mutex> l(engine_mu_);
        code = engine_->Wait(std::chrono::milliseconds(0));
      }
      if (code) {
        ReadTransitions();
        engine_exits_.push_back(*code);
        auto st = control_->StatusJson(kName);
        std::string phase = st.ok() ? st->value("phase", "") : "";
        if (phase == "completed" || phase == "rolled_back") break;
        if (plan_.fault == Fault::kKill9Engine && *code == 128 + SIGKILL && !restarted) {
          Act("engine killed itself (kill -9) after recording " + plan_.trigger_phase);
          restarted = true;
          RETURN_IF_ERROR(LaunchEngine(false));
          continue;
        }
        gave_up_.push_back({{"exit", *code},
                            {"phase", phase},
                            {"engine_log", EngineLogLines(engine_outputs_.back())}});
        Act(fmt::format("engine exited {} leaving the migration in {}", *code, phase));
        if (!operator_rerun_) {
          // As an operator would: run it once more (I5: a re-run completes or rolls back).
          operator_rerun_ = true;
          RETURN_IF_ERROR(LaunchEngine(false));
          continue;
        }
        ended_in_time_ = false;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline || Interrupted()) {
        ended_in_time_ = false;
        Act(Interrupted() ? "interrupted" : "deadline passed: engine killed");
        std::lock_guard<std::mutex> l(engine_mu_);
        engine_->Signal(SIGCONT);
        engine_->Signal(SIGKILL);
        engine_->Wait(std::chrono::seconds(10));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    if (fault_thread_.joinable()) fault_thread_.join();
    if (plan_.fault == Fault::kProxyNoAck) {
      proxies_[1]->Resume();
      Act("second proxy SIGCONT");
    }
    return Status::Ok();
  }

  void StopLoad() {
    if (pgbench_) {
      pgbench_->Signal(SIGINT);
      if (!pgbench_->Wait(std::chrono::seconds(10))) pgbench_->Signal(SIGKILL);
      pgbench_->Wait(std::chrono::seconds(5));
      pgbench_.reset();
    }
    if (ledger_) ledger_->Stop();
    if (around_) around_->Stop();
  }

  FaultPlan plan_;
  RoundSettings settings_;
  std::string dir_, store_path_, target_dir_, password_, app_password_, token_, token_file_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<LocalInstance> source_;
  int target_port_ = 0;
  std::optional<proxy::DevPki> pki_;
  std::optional<proxy::ClientCert> client_;
  std::vector<std::unique_ptr<ProxyInstance>> proxies_;
  std::vector<int> proxy_ports_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<MigrationControl> control_;
  std::unique_ptr<demo::CdcConsumer> consumer_;
  int consumer_port_ = 0;
  bool consumer_on_target_ = false;
  std::atomic<bool> cdc_thawed_{false};
  std::chrono::steady_clock::time_point next_facts_poll_{};
  std::unique_ptr<demo::CommitChecker> ledger_;
  std::optional<ChildProcess> pgbench_;
  std::unique_ptr<AroundWriter> around_;
  std::mutex engine_mu_;
  std::optional<ChildProcess> engine_;
  std::vector<std::string> engine_outputs_;
  size_t read_offset_ = 0;
  int engine_launches_ = 0;
  std::vector<int> engine_exits_;
  std::vector<std::string> phases_seen_;
  bool rollback_requested_ = false;
  bool operator_rerun_ = false;
  json gave_up_ = json::array();  // unplanned engine exits before a final state
  bool rollback_accepted_ = false;
  bool fault_fired_ = false;
  bool ended_in_time_ = true;
  std::thread fault_thread_;
  NetworkCut cut_;
  LoopVolume volume_;
  std::chrono::steady_clock::time_point fill_started_;
  json disk_full_ = json::object();
  json stages_ = json::object();
  json gate_phases_ = json::object();
  std::mutex log_mu_;
  json actions_ = json::array();
};

}  // namespace

json RunRound(const FaultPlan& plan, const RoundSettings& settings) {
  Round round(plan, settings);
  json out = round.Run();
  auto t = std::chrono::steady_clock::now();
  json parts = round.Teardown();
  out["stages"]["teardown"] = std::round(Since(t) * 1000) / 1000;
  out["teardown_parts"] = parts;
  return out;
}

}  // namespace pgshift::chaos
