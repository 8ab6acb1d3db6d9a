// cutover_bench: what an application sees while its primary moves, pgshift against the way a
// skilled operator does it by hand with PgBouncer. Each side keeps one chain of PostgreSQL 15
// servers; a run builds a fresh physical replica of the current primary, puts pgbench (TPC-B
// like, per-transaction log) and a ledger writer on it through the side's pooler, cuts over,
// and measures the longest pause between commits, failures and acknowledged commits missing
// on the new primary; and splits the pause into the promotion as the new primary's server log
// saw it and the rest (the cutover's own overhead), with the time of each stage of the held
// window. The runs of the two sides alternate so that drift on a shared machine
// hits both alike. Prints ONE JSON object on stdout, progress on stderr (used by bench/cutover).
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "common/process.h"
#include "demo/commit_checker.h"
#include "demo/pgbench_load.h"
#include "pg/connection.h"
#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "proxy/dev_pki.h"
#include "proxy/proxy_config.h"
#include "proxy/proxy_server.h"
#include "store/sqlite_store.h"
#include "workflow/engine.h"
#include "workflow/migration_status.h"
#include "workflow/router_spec.h"
#include "workflow/start_migration.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pgshift::bench {
namespace {

constexpr const char* kAppUser = "app";
constexpr int kPgbenchClients = 8;
constexpr int kLedgerClients = 2;
// pgbench -T of one run: long enough for the slower cutover plus a second, on a busy machine.
constexpr int kPgshiftLoadSeconds = 9;
constexpr int kBouncerLoadSeconds = 6;
// The cutover starts this long after pgbench reported its first second of commits.
constexpr auto kWarmup = std::chrono::milliseconds(500);
constexpr int64_t kGapWindowUs = 1'000'000;  // "around the cutover": 1 s either side

int64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Say(const std::string& msg) { std::cerr << "cutover: " << msg << std::endl; }

std::string RandomSecret() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

// The bench's directory: the caller's (bench/cutover makes one so that its trap can clean
// up after a kill) or a new one under /tmp; emptied at the end either way. Servers inside are
// stopped by their owners first.
class WorkDir {
 public:
  explicit WorkDir(const std::string& given) : given_(!given.empty()) {
    std::string tmpl = "/tmp/pgshift-bench-cutover-XXXXXX";
    if (given_) {
      path_ = fs::absolute(given).string();
    } else if (mkdtemp(tmpl.data())) {
      path_ = tmpl;
    }
    if (!path_.empty()) chmod(path_.c_str(), 0755);
  }
  ~WorkDir() {
    std::error_code ec;
    if (path_.empty()) return;
    if (!given_) {
      fs::remove_all(path_, ec);
      return;
    }
    for (const auto& e : fs::directory_iterator(path_, ec)) fs::remove_all(e.path(), ec);
  }
  const std::string& path() const { return path_; }

 private:
  bool given_;
  std::string path_;
};

// A directory the postgres user (pgbench, pgbouncer, the servers) can write into.
Status MakePostgresDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  if (!RunningAsRoot()) return Status::Ok();
  ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
  if (chown(dir.c_str(), ids.uid, ids.gid) != 0) {
    return Unavailable("cannot hand " + dir + " to the postgres user");
  }
  return Status::Ok();
}

// Stops a server and removes its data directory; what is left of a side's previous primary.
void Discard(std::optional<LocalInstance>& inst) {
  if (!inst) return;
  (void)inst->Stop(/*immediate=*/true);
  std::error_code ec;
  fs::remove_all(inst->data_dir(), ec);
  inst.reset();
}

// A primary with the application role and pgbench's tables, as both sides start.
Result<LocalInstance> StartPrimary(const std::string& data_dir, const std::string& password,
                                   const std::string& app_password) {
  ASSIGN_OR_RETURN(int port, ReservePort());
  LocalInstanceSpec spec;
  spec.data_dir = data_dir;
  spec.port = port;
  spec.superuser_password = password;
  spec.settings = {{"max_connections", "100"},
                   {"max_prepared_transactions", "10"},
                   // The promotion as the server saw it is read from the new primary's log:
                   // LOG level with millisecond UTC timestamps. postgresql.conf travels to
                   // every replica with pg_basebackup.
                   {"log_min_messages", "log"},
                   {"log_line_prefix", "%m [%p] "},
                   {"log_timezone", "UTC"},
                   {"log_checkpoints", "on"}};
  ASSIGN_OR_RETURN(LocalInstance inst, LocalInstance::Init(spec));
  RETURN_IF_ERROR(inst.Start());
  {
    ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(inst.Conn()));
    RETURN_IF_ERROR(
        c.Exec(fmt::format("CREATE ROLE {0} LOGIN PASSWORD {1}; "
                           "GRANT ALL ON SCHEMA public TO {0}",
                           kAppUser, QuoteLiteral(c, app_password))));
  }
  RETURN_IF_ERROR(demo::PgbenchLoad::Init(
      inst.Conn().With("user", kAppUser).With("password", app_password), 1));
  return inst;
}

// Commit completion times from pgbench -l logs (prefix.PID, prefix.PID.N): fields 5 and 6 are
// the completion's epoch seconds and microseconds; a "failed" time marks a failed transaction.
struct TxLog {
  std::vector<int64_t> completions_us;  // sorted
  uint64_t failed = 0;
};

TxLog ReadTxLogs(const std::string& dir, const std::string& stem) {
  TxLog out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(stem + ".", 0) != 0) continue;
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string client, tx, time, script;
      int64_t sec = 0, usec = 0;
      if (!(ls >> client >> tx >> time >> script >> sec >> usec)) continue;
      if (time == "failed") {
        ++out.failed;
        continue;
      }
      if (time == "skipped") continue;
      out.completions_us.push_back(sec * 1'000'000 + usec);
    }
  }
  std::sort(out.completions_us.begin(), out.completions_us.end());
  return out;
}

// The longest interval between consecutive completions that overlaps [from, to].
struct Gap {
  double ms = 0;
  double starts_ms = 0;  // relative to `from`
  int64_t begin_us = 0;  // the last commit before the gap
  int64_t end_us = 0;    // the first commit after it
};
Gap LongestGap(const std::vector<int64_t>& sorted, int64_t from, int64_t to, bool load_died) {
  Gap g;
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] < from || sorted[i - 1] > to) continue;
    double ms = (sorted[i] - sorted[i - 1]) / 1000.0;
    if (ms > g.ms) g = {ms, (sorted[i - 1] - from) / 1000.0, sorted[i - 1], sorted[i]};
  }
  // The load died before the window's end: the gap runs at least until then. (A pgbench that
  // ended cleanly on -T simply has no commits after its end, which is no gap.)
  int64_t last = sorted.empty() ? from : std::max(from, sorted.back());
  if (load_died && last < to && (to - last) / 1000.0 > g.ms) {
    g = {(to - last) / 1000.0, (last - from) / 1000.0, last, to};
  }
  return g;
}

// One run's application: pgbench -T for a fixed time (so it ends on its own and writes its
// whole log and summary) and the ledger writers, both through the side's pooler.
class RunLoad {
 public:
  static Result<std::unique_ptr<RunLoad>> Start(const ConnInfo& pooled_for_pgbench,
                                                demo::EndpointFn ledger_endpoint,
                                                const std::string& log_dir, int seconds) {
    std::unique_ptr<RunLoad> l(new RunLoad);
    l->log_dir_ = log_dir;
    l->seconds_ = seconds;
    RETURN_IF_ERROR(MakePostgresDir(log_dir));
    ASSIGN_OR_RETURN(l->ledger_,
                     demo::CommitChecker::Start(ledger_endpoint, {.clients = kLedgerClients}));
    demo::ChildConnection conn = demo::ForChildProcess(pooled_for_pgbench);
    ProcessOptions po;
    po.run_as = "postgres";
    po.env = conn.env;
    po.env["PGAPPNAME"] = "pgshift-bench-pgbench";
    po.stdout_path = log_dir + "/pgbench.out";
    ASSIGN_OR_RETURN(ChildProcess child,
                     ChildProcess::Start(
                         {LocalInstance::BinDir() + "/pgbench", "-n", "-c",
                          std::to_string(kPgbenchClients), "-j", "2", "-T", std::to_string(seconds),
                          "--progress=1", "-l", "--log-prefix=" + log_dir + "/tx", conn.conninfo},
                         po));
    l->pgbench_.emplace(std::move(child));
    return l;
  }

  // Blocks until pgbench has committed for a second (its first --progress line with
  // transactions), then kWarmup more: a cutover must find the load running, not connecting.
  Status WaitRunning() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(log_dir_ + "/pgbench.out");
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("progress: ", 0) == 0 && line.find(" 0.0 tps") == std::string::npos) {
          std::this_thread::sleep_for(kWarmup);
          return Status::Ok();
        }
      }
      if (!pgbench_->Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Unavailable("pgbench did not report commits (see " + log_dir_ + "/pgbench.out)");
  }

  struct Outcome {
    TxLog tx;
    demo::PgbenchRunTotals pgbench;
    demo::CommitChecker::Report ledger;
    std::optional<int> pgbench_exit;
  };
  // Waits for pgbench to end on its own, then stops the ledger.
  Outcome Finish() {
    Outcome r;
    r.pgbench_exit = pgbench_->Wait(std::chrono::seconds(seconds_ + 60));
    ledger_->Stop();
    std::ifstream in(log_dir_ + "/pgbench.out");
    std::stringstream ss;
    ss << in.rdbuf();
    r.pgbench = demo::ParsePgbenchOutput(ss.str());
    r.tx = ReadTxLogs(log_dir_, "tx");
    r.ledger = ledger_->report();
    return r;
  }
  demo::CommitChecker& ledger() { return *ledger_; }

 private:
  RunLoad() = default;
  std::string log_dir_;
  int seconds_ = 0;
  std::unique_ptr<demo::CommitChecker> ledger_;
  std::optional<ChildProcess> pgbench_;
};

// The promotion as the new primary's server log tells it (log_line_prefix '%m', UTC): from
// "received promote request" to the first line logged once recovery has ended: the
// end-of-recovery checkpoint the startup process requests as it leaves recovery ("checkpoint
// starting: force") or "database system is ready to accept connections", whichever comes
// first (the postmaster logs the latter only once it has reaped the startup process, 10-20 ms
// later on a busy host, after clients already write); "archive recovery complete" (just before
// the end-of-recovery WAL record) if neither is there. The log may begin with lines copied
// from the server it was cloned from, so the last promote request counts.
struct ServerPromotion {
  int64_t requested_us = 0;
  int64_t archive_complete_us = 0;
  int64_t ready_us = 0;
  // The end-of-recovery checkpoint the promoted server starts (log_checkpoints), if logged.
  int64_t checkpoint_started_us = 0;
  int64_t checkpoint_done_us = 0;
  std::string checkpoint_done_line;
  std::vector<std::string> lines;  // the log from the promote request on (a few lines)
  int64_t end_us() const {
    int64_t out = ready_us;
    if (checkpoint_started_us && (!out || checkpoint_started_us < out)) out = checkpoint_started_us;
    return out ? out : archive_complete_us;
  }
  bool found() const { return requested_us && end_us(); }
  double ms() const { return found() ? (end_us() - requested_us) / 1000.0 : 0; }
};

// "2026-11-29 12:01:02.345 UTC [123] LOG:  ..." -> epoch microseconds; 0 if not such a line.
int64_t LogLineUs(const std::string& line) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  if (std::sscanf(line.c_str(), "%d-%d-%d %d:%d:%d.%d UTC", &y, &mo, &d, &h, &mi, &sec, &ms) != 7) {
    return 0;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000 + ms * 1000;
}

ServerPromotion ReadServerPromotion(const std::string& data_dir) {
  std::ifstream in(data_dir + "/server.log");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  ServerPromotion p;
  size_t from = lines.size();
  for (size_t i = lines.size(); i-- > 0;) {
    if (lines[i].find("received promote request") != std::string::npos) {
      from = i;
      p.requested_us = LogLineUs(lines[i]);
      break;
    }
  }
  for (size_t i = from + 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    int64_t at = LogLineUs(l);
    if (p.lines.size() < 12) p.lines.push_back(l);
    if (!p.archive_complete_us && l.find("archive recovery complete") != std::string::npos) {
      p.archive_complete_us = at;
    } else if (!p.ready_us && l.find("ready to accept connections") != std::string::npos) {
      p.ready_us = at;
    } else if (!p.checkpoint_started_us && l.find("checkpoint starting:") != std::string::npos) {
      p.checkpoint_started_us = at;
    } else if (p.checkpoint_started_us && !p.checkpoint_done_us &&
               l.find("checkpoint complete:") != std::string::npos) {
      p.checkpoint_done_us = at;
      auto pos = l.find("checkpoint complete:");
      p.checkpoint_done_line = l.substr(pos);
    }
  }
  return p;
}

// Stage times of one cutover, each in ms from the last commit before the gap (negative:
// before it), plus the time each stage took after the previous one.
json Timeline(const std::vector<std::pair<std::string, int64_t>>& events, int64_t gap_begin_us) {
  json at = json::object(), took = json::object();
  int64_t prev = 0;
  for (const auto& [name, us] : events) {
    if (us == 0) continue;
    at[name] = std::round((us - gap_begin_us) / 100.0) / 10;
    if (prev) took[name] = std::round((us - prev) / 100.0) / 10;
    prev = us;
  }
  return {{"at_ms", at}, {"stage_ms", took}};
}

// What both sides report per run.
// `events`: the side's own stage times (absolute), merged with the promotion's and the gap's.
json RunJson(const RunLoad::Outcome& r, int64_t cut_begin_us, int64_t cut_end_us, uint64_t lost,
             const ServerPromotion& promotion,
             std::vector<std::pair<std::string, int64_t>> events) {
  uint64_t pgbench_failed = r.pgbench.failed + r.pgbench.aborted_clients;
  if (!r.pgbench.summary_seen) pgbench_failed = std::max<uint64_t>(pgbench_failed, 1);
  bool died = pgbench_failed > 0 || r.pgbench_exit.value_or(-1) != 0;
  Gap g =
      LongestGap(r.tx.completions_us, cut_begin_us - kGapWindowUs, cut_end_us + kGapWindowUs, died);
  bool covered = !r.tx.completions_us.empty() && r.tx.completions_us.front() < cut_begin_us &&
                 r.tx.completions_us.back() > cut_end_us;
  events.push_back({"promote_requested_server", promotion.requested_us});
  events.push_back({"promoted_server", promotion.end_us()});
  events.push_back({"first_commit", g.end_us});
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });
  json promotion_json = {
      {"found_in_log", promotion.found()},
      {"request_to_archive_complete_ms",
       promotion.archive_complete_us && promotion.requested_us
           ? (promotion.archive_complete_us - promotion.requested_us) / 1000.0
           : 0.0},
      {"request_to_ready_ms", promotion.ready_us && promotion.requested_us
                                  ? (promotion.ready_us - promotion.requested_us) / 1000.0
                                  : 0.0},
      {"end_of_recovery_checkpoint_ms",
       promotion.checkpoint_done_us
           ? (promotion.checkpoint_done_us - promotion.checkpoint_started_us) / 1000.0
           : -1.0},
      {"end_of_recovery_checkpoint", promotion.checkpoint_done_line},
      {"log", promotion.lines}};
  return {
      {"gap_ms", g.ms},
      // As the server saw it (server log); the rest of the gap is the cutover's own overhead.
      {"promote_ms", promotion.ms()},
      {"overhead_ms", promotion.found() ? g.ms - promotion.ms() : g.ms},
      {"promotion", promotion_json},
      {"held_window", Timeline(events, g.begin_us)},
      // false: pgbench was not committing on both sides of the cutover; the gap is not valid
      {"load_spans_cutover", covered},
      {"gap_starts_ms_after_cutover_began", g.starts_ms - kGapWindowUs / 1000.0},
      {"cutover_ms", (cut_end_us - cut_begin_us) / 1000.0},
      {"failed_transactions", pgbench_failed + r.tx.failed + r.ledger.failed_transactions},
      {"lost_commits", lost},
      {"pgbench",
       {{"transactions", r.pgbench.transactions},
        {"logged_completions", r.tx.completions_us.size()},
        {"failed", r.pgbench.failed + r.tx.failed},
        {"aborted_clients", r.pgbench.aborted_clients},
        {"summary_seen", r.pgbench.summary_seen},
        {"exit", r.pgbench_exit ? *r.pgbench_exit : -1}}},
      {"ledger",
       {{"commits", r.ledger.commits},
        {"failed_transactions", r.ledger.failed_transactions},
        {"reconnects", r.ledger.reconnects},
        {"max_commit_gap_ms", r.ledger.max_commit_gap_ms}}},
  };
}

// --standby-checkpoint: both sides run CHECKPOINT (a restartpoint) on the standby just
// before the cutover, an experiment of issue 16: does the promoted server's first commits wait
// less when its end-of-recovery checkpoint has little to write?
bool g_standby_checkpoint = false;

Status StandbyCheckpoint(const ConnInfo& standby) {
  if (!g_standby_checkpoint) return Status::Ok();
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(standby));
  return c.Exec("CHECKPOINT");
}

// ---- pgshift: pgshift proxy (mutual TLS) in front, the engine migrates ----

// Remembers when the engine began pausing and when sessions were switched and resumed, and
// the wall time of each stage of the held window (the first time each was reported).
class CutoverClock : public ProgressSink {
 public:
  void Update(const ProgressUpdate& u) override {
    if (u.phase == Phase::kPausing && u.message.rfind("pausing", 0) == 0) Mark("pause_sent");
    if (u.phase == Phase::kFencing && u.message.rfind("fence holds", 0) == 0) Mark("fence_holds");
    if (u.phase == Phase::kDraining && u.message.rfind("replayed", 0) == 0) Mark("replayed");
    if (u.phase == Phase::kPromoting) Mark("promote_step_signals");  // early switch started
    if (u.phase == Phase::kSwitching) Mark("switch_step_began");
    if (u.phase == Phase::kSwitching && u.message.rfind("resuming", 0) == 0) Mark("resume_sent");
    if (u.phase == Phase::kSwitching && u.message.rfind("resumed", 0) == 0) {
      Mark("resume_answered");
    }
  }
  void Transition(Phase, Phase to, const std::string&) override {
    if (to == Phase::kPausing) began_us = WallUs();
    if (to == Phase::kVerifying || to == Phase::kRolledBack || to == Phase::kFailed) {
      ended_us = WallUs();
    }
    if (to == Phase::kFencing) Mark("pause_reached");
    if (to == Phase::kDraining) Mark("final_lsn_recorded");
    if (to == Phase::kPromoting) Mark("promotion_intent_recorded");
    if (to == Phase::kSlotHandover) Mark("promoted_recorded");
    if (to == Phase::kSwitching) Mark("slots_recorded");
    if (to == Phase::kVerifying) Mark("resumed_recorded");
  }
  void Mark(const std::string& name) {
    for (const auto& e : events) {
      if (e.first == name) return;
    }
    events.push_back({name, WallUs()});
  }
  int64_t began_us = 0;
  int64_t ended_us = 0;
  std::vector<std::pair<std::string, int64_t>> events;
};

class PgshiftSide {
 public:
  static Result<std::unique_ptr<PgshiftSide>> Setup(const std::string& dir) {
    std::unique_ptr<PgshiftSide> s(new PgshiftSide);
    s->dir_ = dir;
    s->password_ = RandomSecret();
    s->app_password_ = RandomSecret();
    RETURN_IF_ERROR(MakePostgresDir(dir));
    ASSIGN_OR_RETURN(LocalInstance p,
                     StartPrimary(dir + "/node-0", s->password_, s->app_password_));
    s->primary_.emplace(std::move(p));
    RETURN_IF_ERROR(s->StartProxy());
    ASSIGN_OR_RETURN(s->store_, SqliteStore::Open(dir + "/pgshift.db"));
    return s;
  }
  ~PgshiftSide() {
    proxy_.reset();
    Discard(primary_);
    // A run that stopped half way may have left its replica running.
    for (const auto& d : nodes_) {
      auto inst = LocalInstance::Attach(d, password_);
      if (inst.ok() && inst->Running()) (void)inst->Stop(/*immediate=*/true);
    }
  }

  Result<json> Run(int i) {
    std::string name = fmt::format("run-{}", i);
    ASSIGN_OR_RETURN(int target_port, ReservePort());
    StartRequest req;
    req.name = name;
    req.source = primary_->Conn().raw();
    req.create_target_dir = fmt::format("{}/node-{}", dir_, i + 1);
    nodes_.push_back(*req.create_target_dir);
    req.target_port = target_port;
    req.options.check_window = std::chrono::milliseconds(1000);
    req.options.router =
        RouterSpec::Proxy("appdb",
                          {{fmt::format("127.0.0.1:{}", proxy_->admin_port()), token_file_}})
            .ToJson();
    ASSIGN_OR_RETURN(MigrationSpec spec, StartMigration(*store_, req, Clock::Real()));
    CutoverClock clock;
    {
      // Replica built and validated before the load starts: the bench measures the cutover.
      Engine engine(*store_, Clock::Real(), clock);
      ASSIGN_OR_RETURN(TurnOutcome stopped, engine.Run(name, {.wait_at_gate = false}));
      Phase p = stopped.phase;
      if (p != Phase::kReadyForCutover) {
        return Internal(name + ": the engine stopped in " + std::string(PhaseName(p)) +
                        " instead of at the cutover gate");
      }
    }
    ConnInfo app = app_endpoint_;
    ASSIGN_OR_RETURN(auto load, RunLoad::Start(
                                    pgbench_endpoint_, [app] { return app; },
                                    fmt::format("{}/load-{}", dir_, i), kPgshiftLoadSeconds));
    RETURN_IF_ERROR(load->WaitRunning());
    RETURN_IF_ERROR(
        StandbyCheckpoint(primary_->Conn().With("port", std::to_string(spec.target_port))));
    int64_t requested = WallUs();
    RETURN_IF_ERROR(store_->RequestCutover(name, Clock::Real().WallSeconds()));
    Engine engine(*store_, Clock::Real(), clock);
    clock.events.clear();  // the stages of the cutover only, not of the replica's build
    auto ran = engine.Run(name, {.wait_at_gate = false});
    RunLoad::Outcome r = load->Finish();
    ConnInfo new_primary = primary_->Conn().With("port", std::to_string(spec.target_port));
    ASSIGN_OR_RETURN(uint64_t lost, load->ledger().CountLostCommits(new_primary));
    int64_t began = clock.began_us ? clock.began_us : requested;
    int64_t ended = clock.ended_us ? clock.ended_us : WallUs();
    json out = RunJson(r, began, ended, lost, ReadServerPromotion(spec.target_dir), clock.events);
    ASSIGN_OR_RETURN(MigrationRecord record, store_->Get(name));
    ASSIGN_OR_RETURN(auto events, store_->Events(name));
    json status = MigrationStatusJson(record, events);
    out["engine_state"] = status.value("state", "");
    out["engine_promote_ms"] = status.value("promote_ms", 0);  // pg_promote to the poll seeing it
    json phases = json::object();
    for (const auto& ph : status.value("phases", json::array())) {
      std::string n = ph.value("name", "");
      if (n == "pausing" || n == "fencing" || n == "draining" || n == "promoting" ||
          n == "slot_handover" || n == "switching") {
        phases[n + "_ms"] = ph.value("seconds", 0.0) * 1000.0;
      }
    }
    out["phases"] = phases;
    if (status.contains("fence")) {
      out["fence_layer_ms"] = status["fence"].value("layer_ms", json::object());
      out["fence"] = status["fence"];  // what it terminated and left to the proxy
    }
    if (!ran.ok()) out["error"] = ran.status().message();
    if (!ran.ok() || ran->phase != Phase::kCompleted) {
      return Internal(name + ": migration did not complete: " +
                      (ran.ok() ? std::string(PhaseName(ran->phase)) : ran.status().message()));
    }
    // The new primary is the next run's source; the old one (fenced) is done with.
    ASSIGN_OR_RETURN(LocalInstance next, LocalInstance::Attach(spec.target_dir, password_));
    Discard(primary_);
    primary_.emplace(std::move(next));
    return out;
  }

 private:
  PgshiftSide() = default;

  // `pgshift proxy` in-process as the demo runs it: mutual TLS toward the application, SCRAM
  // toward PostgreSQL with the application role's password, which only the proxy holds.
  Status StartProxy() {
    std::string pdir = dir_ + "/proxy";
    RETURN_IF_ERROR(MakePostgresDir(pdir));
    ASSIGN_OR_RETURN(proxy::DevPki pki, proxy::DevPki::Create(pdir + "/pki"));
    ASSIGN_OR_RETURN(proxy::ClientCert client, pki.Client("bench-app"));
    token_file_ = pdir + "/admin.token";
    std::ofstream(token_file_) << RandomSecret() << "\n";
    std::ofstream(pdir + "/app.password") << app_password_ << "\n";
    ASSIGN_OR_RETURN(int port, ReservePort());
    ASSIGN_OR_RETURN(int admin, ReservePort());
    std::string path = pdir + "/proxy.ini";
    std::ofstream(path) << "[proxy]\nlisten = 127.0.0.1:" << port
                        << "\nadmin_listen = 127.0.0.1:" << admin
                        << "\nadmin_token_file = " << token_file_ << "\nthreads = 2"
                        << "\ntls_cert = " << pki.server_cert << "\ntls_key = " << pki.server_key
                        << "\nclient_ca = " << pki.ca_cert
                        << "\n\n[cluster appdb]\nhost = 127.0.0.1\nport = " << primary_->port()
                        << "\ndatabase = postgres\nuser = " << kAppUser
                        << "\npassword_file = " << pdir << "/app.password"
                        << "\n\n[identity bench-app]\ndatabases = appdb\nroles = " << kAppUser
                        << "\n";
    ASSIGN_OR_RETURN(proxy::ProxyConfig cfg, proxy::LoadProxyConfig(path));
    ASSIGN_OR_RETURN(proxy_, proxy::ProxyServer::Start(cfg));
    auto endpoint = [&](const proxy::ClientCert& c) {
      return ConnInfo::Parse(fmt::format("host=127.0.0.1 port={} dbname=appdb user={} "
                                         "sslmode=verify-full sslrootcert={} sslcert={} sslkey={}",
                                         proxy_->port(), kAppUser, pki.ca_cert, c.cert, c.key),
                             "proxy")
          .value();
    };
    app_endpoint_ = endpoint(client);
    // libpq wants the client key owned by the user reading it: pgbench (as postgres) gets a copy.
    proxy::ClientCert copy{pdir + "/pgbench.crt", pdir + "/pgbench.key"};
    std::error_code ec;
    fs::copy_file(client.cert, copy.cert, fs::copy_options::overwrite_existing, ec);
    fs::copy_file(client.key, copy.key, fs::copy_options::overwrite_existing, ec);
    if (ec) return Unavailable("cannot copy the client certificate into " + pdir);
    if (RunningAsRoot()) {
      ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
      if (chown(copy.cert.c_str(), ids.uid, ids.gid) != 0 ||
          chown(copy.key.c_str(), ids.uid, ids.gid) != 0) {
        return Unavailable("cannot hand the client certificate to the postgres user");
      }
    }
    pgbench_endpoint_ = endpoint(copy);
    return Status::Ok();
  }

  std::string dir_, password_, app_password_, token_file_;
  std::optional<LocalInstance> primary_;
  std::unique_ptr<proxy::ProxyServer> proxy_;
  std::unique_ptr<SqliteStore> store_;
  std::vector<std::string> nodes_;  // every data directory of this side, for the cleanup
  ConnInfo app_endpoint_ = ConnInfo::Parse("host=127.0.0.1", "unset").value();
  ConnInfo pgbench_endpoint_ = ConnInfo::Parse("host=127.0.0.1", "unset").value();
};

// ---- pgbouncer_by_hand: PgBouncer (transaction pooling) in front, an operator's script ----

class BouncerSide {
 public:
  static Result<std::unique_ptr<BouncerSide>> Setup(const std::string& dir) {
    std::unique_ptr<BouncerSide> s(new BouncerSide);
    s->dir_ = dir;
    s->password_ = RandomSecret();
    s->app_password_ = RandomSecret();
    s->admin_password_ = RandomSecret();
    RETURN_IF_ERROR(MakePostgresDir(dir));
    ASSIGN_OR_RETURN(LocalInstance p,
                     StartPrimary(dir + "/node-0", s->password_, s->app_password_));
    s->primary_.emplace(std::move(p));
    RETURN_IF_ERROR(s->StartBouncer());
    return s;
  }
  ~BouncerSide() {
    if (bouncer_) {
      bouncer_->Signal(SIGINT);  // immediate shutdown
      if (!bouncer_->Wait(std::chrono::seconds(5))) bouncer_->Signal(SIGKILL);
      bouncer_.reset();
    }
    Discard(replica_);
    Discard(primary_);
  }

  Result<json> Run(int i) {
    ASSIGN_OR_RETURN(int port, ReservePort());
    LocalInstanceSpec spec;
    spec.data_dir = fmt::format("{}/node-{}", dir_, i + 1);
    spec.port = port;
    spec.superuser_password = password_;
    ASSIGN_OR_RETURN(LocalInstance rep, LocalInstance::CreateReplica(primary_->Conn(), spec));
    replica_.emplace(std::move(rep));
    RETURN_IF_ERROR(replica_->Start());
    RETURN_IF_ERROR(WaitStreaming());

    // Everything the script needs is connected beforehand: the cutover is only round trips.
    ASSIGN_OR_RETURN(PgConnection admin, PgConnection::Connect(AdminConn()));
    ASSIGN_OR_RETURN(PgConnection src, PgConnection::Connect(primary_->Conn()));
    ASSIGN_OR_RETURN(PgConnection dst, PgConnection::Connect(replica_->Conn()));

    ConnInfo app = AppConn();
    ASSIGN_OR_RETURN(auto load, RunLoad::Start(
                                    app, [app] { return app; }, fmt::format("{}/load-{}", dir_, i),
                                    kBouncerLoadSeconds));
    RETURN_IF_ERROR(load->WaitRunning());
    RETURN_IF_ERROR(StandbyCheckpoint(replica_->Conn()));
    int64_t began = WallUs();
    Status cut = Cutover(admin, src, dst, replica_->port());
    int64_t ended = WallUs();
    RunLoad::Outcome r = load->Finish();
    ASSIGN_OR_RETURN(uint64_t lost, load->ledger().CountLostCommits(replica_->Conn()));
    json out =
        RunJson(r, began, ended, lost, ReadServerPromotion(replica_->data_dir()), step_events_);
    out["steps_ms"] = steps_;
    out["pgbouncer_log_warnings"] = NewBouncerWarnings();
    if (!cut.ok()) return cut.Context(fmt::format("run-{}: the cutover by hand failed", i));
    Discard(primary_);
    primary_ = std::move(replica_);
    replica_.reset();
    return out;
  }

 private:
  BouncerSide() = default;

  ConnInfo AppConn() const {
    return ConnInfo::Parse(fmt::format("host=127.0.0.1 port={} dbname=appdb user={} password={}",
                                       bouncer_port_, kAppUser, app_password_),
                           "pgbouncer")
        .value();
  }
  ConnInfo AdminConn() const {
    return ConnInfo::Parse(
               fmt::format("host=127.0.0.1 port={} dbname=pgbouncer user=bench_admin password={}",
                           bouncer_port_, admin_password_),
               "pgbouncer-admin")
        .value();
  }

  // What the operator edits: the [databases] line points at the current primary.
  Status WriteIni(int backend_port) {
    std::string tmp = dir_ + "/pgbouncer.ini.new";
    {
      std::ofstream ini(tmp);
      ini << "[databases]\nappdb = host=127.0.0.1 port=" << backend_port
          << " dbname=postgres user=" << kAppUser << " password=" << app_password_
          << "\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << bouncer_port_
          << "\nunix_socket_dir =\nauth_type = scram-sha-256\nauth_file = " << dir_
          << "/userlist.txt\npool_mode = transaction\nadmin_users = bench_admin"
          << "\ndefault_pool_size = 20\nmax_client_conn = 200\nlogfile = " << dir_
          << "/pgbouncer.log\npidfile = " << dir_ << "/pgbouncer.pid\n";
      if (!ini) return Unavailable("cannot write " + tmp);
    }
    chmod(tmp.c_str(), 0644);
    std::error_code ec;
    fs::rename(tmp, dir_ + "/pgbouncer.ini", ec);  // PgBouncer never reads half a file
    if (ec) return Unavailable("cannot replace pgbouncer.ini: " + ec.message());
    return Status::Ok();
  }

  Status StartBouncer() {
    ASSIGN_OR_RETURN(bouncer_port_, ReservePort());
    {
      std::ofstream ul(dir_ + "/userlist.txt");
      ul << "\"" << kAppUser << "\" \"" << app_password_ << "\"\n\"bench_admin\" \""
         << admin_password_ << "\"\n";
    }
    if (RunningAsRoot()) {
      ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
      if (chown((dir_ + "/userlist.txt").c_str(), ids.uid, ids.gid) != 0) {
        return Unavailable("cannot hand userlist.txt to the postgres user");
      }
    }
    chmod((dir_ + "/userlist.txt").c_str(), 0600);
    RETURN_IF_ERROR(WriteIni(primary_->port()));
    ProcessOptions po;
    po.run_as = "postgres";
    po.stdout_path = dir_ + "/pgbouncer.out";
    ASSIGN_OR_RETURN(ChildProcess c,
                     ChildProcess::Start({"pgbouncer", dir_ + "/pgbouncer.ini"}, po));
    bouncer_.emplace(std::move(c));
    Status last = Status::Ok();
    for (int i = 0; i < 200; ++i) {
      auto a = PgConnection::Connect(AdminConn());
      if (a.ok()) return Status::Ok();
      last = a.status();
      if (!bouncer_->Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return last.Context("pgbouncer did not come up (see " + dir_ + "/pgbouncer.log)");
  }

  Status WaitStreaming() {
    ASSIGN_OR_RETURN(PgConnection p, PgConnection::Connect(primary_->Conn()));
    for (int i = 0; i < 600; ++i) {
      ASSIGN_OR_RETURN(std::string n, p.QueryValue("SELECT count(*) FROM pg_stat_replication "
                                                   "WHERE state = 'streaming' AND replay_lsn >= "
                                                   "pg_current_wal_lsn()"));
      if (n != "0") return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Unavailable("the replica did not start streaming within 30 s");
  }

  // The operator's script: PAUSE, fence the source read-only, wait for the replica to replay
  // the source's last LSN, promote, point PgBouncer at the new primary, RELOAD, RESUME.
  Status Cutover(PgConnection& admin, PgConnection& src, PgConnection& dst, int new_port) {
    steps_ = json::object();
    step_events_.clear();
    int64_t t = WallUs();
    auto step = [&](const char* name) {
      int64_t now = WallUs();
      steps_[name] = (now - t) / 1000.0;
      step_events_.push_back({name, now});
      t = now;
    };
    RETURN_IF_ERROR(admin.Exec("PAUSE appdb"));
    step("pause");
    RETURN_IF_ERROR(src.Exec("ALTER SYSTEM SET default_transaction_read_only = on"));
    RETURN_IF_ERROR(src.Exec("SELECT pg_reload_conf()"));
    step("fence");
    ASSIGN_OR_RETURN(std::string lsn, src.QueryValue("SELECT pg_current_wal_lsn()::text"));
    for (;;) {
      ASSIGN_OR_RETURN(std::string done,
                       dst.QueryValue("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {lsn}));
      if (done == "t") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    step("catch_up");
    // As the best operator would: pg_promote(true) waits in 100 ms ticks, so signal the
    // promotion without waiting and poll for its end every millisecond.
    ASSIGN_OR_RETURN(std::string signalled, dst.QueryValue("SELECT pg_promote(false)"));
    if (signalled != "t") return Unavailable("pg_promote(false) did not signal the postmaster");
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);;) {
      ASSIGN_OR_RETURN(std::string recovering, dst.QueryValue("SELECT pg_is_in_recovery()"));
      if (recovering == "f") break;
      if (std::chrono::steady_clock::now() > until) {
        return Unavailable("the replica was still in recovery 60 s after pg_promote(false)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    step("promote");
    RETURN_IF_ERROR(WriteIni(new_port));
    RETURN_IF_ERROR(admin.Exec("RELOAD"));
    step("reload");
    RETURN_IF_ERROR(admin.Exec("RESUME appdb"));
    step("resume");
    return Status::Ok();
  }

  // WARNING/ERROR lines PgBouncer logged since the last call (login failures explain stalls).
  json NewBouncerWarnings() {
    json out = json::array();
    std::ifstream in(dir_ + "/pgbouncer.log");
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
      if (n++ < log_lines_seen_) continue;
      if ((line.find("WARNING") != std::string::npos || line.find("ERROR") != std::string::npos) &&
          out.size() < 10) {
        out.push_back(line);
      }
    }
    log_lines_seen_ = n;
    return out;
  }

  std::string dir_, password_, app_password_, admin_password_;
  size_t log_lines_seen_ = 0;
  int bouncer_port_ = 0;
  std::optional<LocalInstance> primary_, replica_;
  std::optional<ChildProcess> bouncer_;
  json steps_;
  std::vector<std::pair<std::string, int64_t>> step_events_;  // each step's end, wall time
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

json Summary(const json& runs, int wanted) {
  std::vector<double> gaps, cutovers, promotes, overheads;
  std::map<std::string, std::vector<double>> stages;
  uint64_t failed = 0, lost = 0;
  for (const auto& r : runs) {
    if (!r.contains("gap_ms")) continue;
    failed += r["failed_transactions"].get<uint64_t>();
    lost += r["lost_commits"].get<uint64_t>();
    if (r.value("load_spans_cutover", false)) {  // else the gap is not measured
      gaps.push_back(r["gap_ms"].get<double>());
      cutovers.push_back(r["cutover_ms"].get<double>());
      promotes.push_back(r["promote_ms"].get<double>());
      overheads.push_back(r["overhead_ms"].get<double>());
      for (const auto& [name, ms] : r["held_window"]["stage_ms"].items()) {
        stages[name].push_back(ms.get<double>());
      }
    }
  }
  json gap_list = json::array();
  for (double g : gaps) gap_list.push_back(std::round(g * 10) / 10);
  auto max_of = [](const std::vector<double>& v) {
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  };
  json stage_medians = json::object();
  for (const auto& [name, v] : stages) stage_medians[name] = Median(v);
  return {{"gap_ms_median", Median(gaps)},
          {"gap_ms_max", max_of(gaps)},
          {"promote_ms_median", Median(promotes)},
          {"promote_ms_max", max_of(promotes)},
          {"overhead_ms_median", Median(overheads)},
          {"overhead_ms_max", max_of(overheads)},
          // each stage's time after the one before it (held_window.stage_ms of every run)
          {"stage_ms_median", stage_medians},
          {"cutover_ms_median", Median(cutovers)},
          {"failed_transactions", failed},
          {"lost_commits", lost},
          {"runs", gaps.size()},  // with the load committing on both sides of the cutover
          {"runs_wanted", wanted},
          {"gaps_ms", gap_list},
          {"per_run", runs}};
}

int Main(int argc, char** argv) {
  int runs = 20;
  std::string dir;
  std::string only;    // one side alone, for working on it; the JSON then lacks the other
  bool tmpfs = false;  // bench/cutover mounted a tmpfs on --dir: labels the JSON only
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      runs = 3;
    } else if (std::strcmp(argv[i], "--tmpfs") == 0) {
      tmpfs = true;
    } else if (std::strcmp(argv[i], "--standby-checkpoint") == 0) {
      g_standby_checkpoint = true;
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
      if (only != "pgshift" && only != "pgbouncer_by_hand") {
        std::cerr << "cutover_bench: --only takes pgshift or pgbouncer_by_hand, not '" << only
                  << "'\n";
        return 2;
      }
    } else {
      std::cerr << "usage: cutover_bench [--quick | --runs N] [--only SIDE] [--tmpfs] "
                   "[--standby-checkpoint] [--dir EMPTY_DIR]\n";
      return 2;
    }
  }
  InitLogging();  // the engine's log lines go to stderr, stdout is the JSON's
  WorkDir work(dir);
  if (work.path().empty()) {
    std::cerr << "cutover: cannot create a directory under /tmp\n";
    return 1;
  }
  Say("working in " + work.path());
  json pg_runs = json::array(), bn_runs = json::array();
  json errors = json::array();
  {
    Say("setting up the pgshift side (PostgreSQL 15, pgbench -i -s 1, pgshift proxy)");
    auto pg = PgshiftSide::Setup(work.path() + "/pgshift");
    if (!pg.ok()) {
      std::cerr << "cutover: pgshift side: " << pg.status().message() << "\n";
      return 1;
    }
    Say("setting up the pgbouncer side (PostgreSQL 15, pgbench -i -s 1, PgBouncer)");
    auto bn = BouncerSide::Setup(work.path() + "/pgbouncer");
    if (!bn.ok()) {
      std::cerr << "cutover: pgbouncer side: " << bn.status().message() << "\n";
      return 1;
    }
    for (int i = 0; i < runs; ++i) {
      // Alternate which side goes first so neither always runs on a warmer machine.
      for (int k = 0; k < 2; ++k) {
        bool pgshift_turn = (k == 0) == (i % 2 == 0);
        const char* side = pgshift_turn ? "pgshift" : "pgbouncer_by_hand";
        if (!only.empty() && only != side) continue;
        auto r = pgshift_turn ? (*pg)->Run(i) : (*bn)->Run(i);
        if (!r.ok()) {
          Say(fmt::format("{} run {}: {}", side, i + 1, r.status().message()));
          errors.push_back({{"side", side}, {"run", i + 1}, {"error", r.status().message()}});
          (pgshift_turn ? pg_runs : bn_runs).push_back({{"error", r.status().message()}});
          continue;
        }
        Say(fmt::format("{} run {}/{}: gap {:.1f} ms, cutover {:.1f} ms, failed {}, lost {}", side,
                        i + 1, runs, (*r)["gap_ms"].get<double>(), (*r)["cutover_ms"].get<double>(),
                        (*r)["failed_transactions"].get<uint64_t>(),
                        (*r)["lost_commits"].get<uint64_t>()));
        (pgshift_turn ? pg_runs : bn_runs).push_back(*r);
      }
      // A side that failed twice in a row is not going to recover; stop rather than spin.
      if (errors.size() >= 4) break;
    }
  }
  json out = {
      {"bench", "cutover"},
      {"setup",
       {{"data_directories", tmpfs ? "tmpfs (bench/cutover --tmpfs): the disk is not the floor"
                                   : "the work directory's disk"},
        {"pgbench",
         fmt::format("-c {} -j 2 TPC-B-like, scale 1, per-transaction log, -T {} (pgshift) "
                     "/ {} (pgbouncer); the cutover starts 0.5 s after pgbench's first "
                     "progress line",
                     kPgbenchClients, kPgshiftLoadSeconds, kBouncerLoadSeconds)},
        {"ledger_clients", kLedgerClients},
        {"standby_checkpoint_before_cutover", g_standby_checkpoint},
        {"gap",
         "longest interval between consecutive pgbench commit completions (all clients) "
         "within 1 s before the cutover began to 1 s after it ended"},
        {"pgshift",
         "pgshift proxy (mutual TLS, in-process), engine migrates to a fresh local "
         "physical replica, cutover measured from pausing to switched"},
        {"pgbouncer_by_hand",
         "PgBouncer 1.18 transaction pooling; libpq script: PAUSE, ALTER SYSTEM SET "
         "default_transaction_read_only=on + pg_reload_conf(), wait replay >= source "
         "pg_current_wal_lsn(), pg_promote(false) + 1 ms poll of pg_is_in_recovery(), rewrite "
         "pgbouncer.ini, RELOAD, RESUME"}}},
      {"pgshift", Summary(pg_runs, runs)},
      {"pgbouncer_by_hand", Summary(bn_runs, runs)},
      {"errors", errors},
  };
  std::cout << out.dump() << std::endl;
  return errors.empty() ? 0 : 1;
}

}  // namespace
}  // namespace pgshift::bench

int main(int argc, char** argv) { return pgshift::bench::Main(argc, argv); }
