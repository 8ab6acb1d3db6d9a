// The platform demo: three clusters, two teams, one server; migrations through the API.
#include "demo/platform_demo.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "demo/demo_proxy.h"
#include "demo/demo_server.h"
#include "demo/demo_source.h"
#include "demo/pgbench_load.h"
#include "demo/secret_file.h"
#include "migration/phase.h"
#include "platform/port_reservation.h"
#include "server_client/server_client.h"

namespace fs = std::filesystem;

namespace pgshift::demo {
namespace {

constexpr const char* kAppUser = "app";
constexpr const char* kPlatformTeam = "platform";

// One cluster of the scene and what the demo wants of its migration.
struct ClusterPlan {
  const char* name;
  const char* team;
  const char* tier;
  bool roll_back_at_gate;  // false: auto cutover to completion
};
constexpr ClusterPlan kClusters[] = {
    {"orders", "payments", "gold", false},
    {"ledger", "payments", "gold", true},
    {"catalog", "search", "silver", false},
};

std::string MigrationName(const ClusterPlan& c) { return std::string(c.name) + "-move"; }

// The work directory and every PostgreSQL server under it: stopped and removed unless kept.
class PlatformWorkspace {
 public:
  explicit PlatformWorkspace(const PlatformDemoOptions& o) : keep_(o.keep) {
    if (o.dir.empty()) {
      std::string tmpl = "/tmp/pgshift-platform-XXXXXX";
      dir_ = mkdtemp(tmpl.data()) ? tmpl : "";
    } else {
      dir_ = fs::absolute(o.dir).string();
      fs::create_directories(dir_);
    }
    if (!dir_.empty()) {
      fs::permissions(dir_, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
    }
  }
  ~PlatformWorkspace() {
    if (keep_ || dir_.empty()) return;
    for (const auto& c : kClusters) {
      for (const char* d : {"/target", "/source"}) {
        auto inst = LocalInstance::Attach(dir_ + "/" + c.name + d, "");
        if (inst.ok()) (void)inst->Stop(/*immediate=*/true);
      }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }

 private:
  bool keep_;
  std::string dir_;
};

// One cluster on this host: its source, its proxy, its load, and its registration.
struct DemoCluster {
  ClusterPlan plan;
  std::string dir;
  std::unique_ptr<LocalInstance> source;
  std::optional<DemoProxy> proxy;
  std::unique_ptr<PgbenchLoad> load;
  int target_port = 0;

  nlohmann::json Registration() const {
    return {
        {"name", plan.name},
        {"team", plan.team},
        {"labels", {{"tier", plan.tier}, {"demo", "true"}}},
        {"source",
         {{"conninfo", "host=127.0.0.1 port=" + std::to_string(source->port()) +
                           " user=postgres dbname=postgres"},
          {"password", {{"file", dir + "/source.password"}}},
          {"data_dir", source->data_dir()}}},
        {"proxies",
         {{"cluster", DemoProxy::kCluster},
          {"admins",
           {{{"address", proxy->AdminAddress()}, {"token", {{"file", proxy->token_file}}}}}}}},
        {"target", {{"kind", "local"}, {"dir", dir + "/target"}, {"port", target_port}}},
    };
  }
};

Result<std::unique_ptr<DemoCluster>> BuildCluster(const ClusterPlan& plan, const std::string& root,
                                                  const PlatformDemoOptions& o,
                                                  ProgressSink& progress) {
  auto c = std::make_unique<DemoCluster>();
  c->plan = plan;
  c->dir = root + "/" + plan.name;
  fs::create_directories(c->dir);
  const std::string password = RandomSecret();
  const std::string app_password = RandomSecret();
  progress.Update({Phase::kCreated, std::string(plan.name) + ": starting the source cluster"});
  ASSIGN_OR_RETURN(LocalInstance source, StartDemoSource(c->dir, password));
  c->source = std::make_unique<LocalInstance>(std::move(source));
  // The server reads the superuser's password from this file; it never sees it otherwise.
  RETURN_IF_ERROR(WriteSecretFile(c->dir + "/source.password", password));
  ConnInfo super = c->source->Conn();
  RETURN_IF_ERROR(CreateAppRole(super, kAppUser, app_password));
  progress.Update({Phase::kCreated,
                   std::string(plan.name) + ": pgbench -i -s " + std::to_string(o.pgbench_scale)});
  RETURN_IF_ERROR(PgbenchLoad::Init(super.With("user", kAppUser).With("password", app_password),
                                    o.pgbench_scale));
  progress.Update({Phase::kCreated, std::string(plan.name) + ": starting its proxy"});
  ASSIGN_OR_RETURN(DemoProxy proxy,
                   DemoProxy::Start(c->dir, c->source->port(), kAppUser, app_password));
  c->proxy.emplace(std::move(proxy));
  ASSIGN_OR_RETURN(ConnInfo for_pgbench, c->proxy->PostgresUserEndpoint(c->dir));
  fs::create_directories(c->dir + "/pgbench");
  ASSIGN_OR_RETURN(c->load, PgbenchLoad::Start([for_pgbench] { return for_pgbench; },
                                               {.clients = o.pgbench_clients,
                                                .duration = std::chrono::hours(24),
                                                .log_dir = c->dir + "/pgbench"}));
  ASSIGN_OR_RETURN(c->target_port, ReservePort());
  return c;
}

Phase PhaseOf(const nlohmann::json& m) {
  Phase p = Phase::kCreated;
  (void)ParsePhaseName(m.value("phase", ""), &p);
  return p;
}

bool Ended(Phase p) { return IsTerminal(p) || p == Phase::kFailed; }

// Waits for `stop`, in short sleeps.
void SleepUnlessStopped(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Status RunPlatformDemo(const PlatformDemoOptions& o, std::ostream& out, ProgressSink& progress,
                       const std::atomic<bool>& stop) {
  PlatformWorkspace ws(o);
  if (ws.dir().empty()) return Unavailable("cannot create a temporary directory under /tmp");
  // Members are stopped in reverse order: the server before the load, the proxies and the
  // clusters it acts on.
  std::vector<std::unique_ptr<DemoCluster>> clusters;
  std::unique_ptr<DemoServer> server;
  auto stop_all = [&]() -> Status {
    Status st = server ? server->Stop() : Status::Ok();
    for (auto& c : clusters) {
      if (c->load) c->load->Stop();
    }
    for (auto& c : clusters) {
      if (c->proxy && c->proxy->server) c->proxy->server->Stop();
    }
    return st;
  };

  for (const auto& plan : kClusters) {
    if (stop) return stop_all();
    auto c = BuildCluster(plan, ws.dir(), o, progress);
    if (!c.ok()) {
      (void)stop_all();
      return c.status().Context(std::string("demo: cluster ") + plan.name);
    }
    clusters.push_back(std::move(c).value());
  }

  progress.Update({Phase::kCreated, "starting pgshift server"});
  auto started = DemoServer::Start({.binary = o.binary,
                                    .dir = ws.dir(),
                                    .listen = o.listen,
                                    .platform_team = kPlatformTeam,
                                    .teams = {"payments", "search"}});
  if (!started.ok()) {
    (void)stop_all();
    return started.status();
  }
  server = std::move(started).value();
  std::map<std::string, DemoServer::Token> tokens;
  for (const char* team : {kPlatformTeam, "payments", "search"}) {
    auto t =
        server->CreateToken(team, std::string(team) == kPlatformTeam, std::string("demo-") + team);
    if (!t.ok()) {
      (void)stop_all();
      return t.status();
    }
    tokens[team] = *t;
  }

  // Each team registers and starts its own migrations, as it would on a real platform.
  auto url = ServerUrl::Parse(server->url());
  if (!url.ok()) {
    (void)stop_all();
    return url.status().Context("demo: the server's address");
  }
  std::map<std::string, ServerClient> as_team;
  for (const auto& [team, token] : tokens) {
    as_team.emplace(team, ServerClient::Create(*url, {.token = token.text}).value());
  }
  for (const auto& c : clusters) {
    const ServerClient& api = as_team.at(c->plan.team);
    const std::string name = MigrationName(c->plan);
    nlohmann::json options = {{"check_window_s", o.check_window_s},
                              {"auto_cutover", !c->plan.roll_back_at_gate}};
    Status st = api.Post("/v1/clusters", c->Registration()).status();
    if (st.ok()) {
      st = api.Post("/v1/migrations",
                    {{"name", name}, {"cluster", c->plan.name}, {"options", options}})
               .status();
    }
    if (st.ok()) st = api.Post(ApiPath("/v1/migrations/", name, "/start")).status();
    if (!st.ok()) {
      (void)stop_all();
      return st.Context("demo: " + name + " through the server");
    }
  }

  out << "\n== pgshift platform demo ==\n"
      << "three clusters of two teams under pgbench load, migrated through pgshift server:\n";
  for (const auto& c : clusters) {
    out << "  " << MigrationName(c->plan) << " (team " << c->plan.team << ", cluster "
        << c->plan.name << "): "
        << (c->plan.roll_back_at_gate ? "rolled back at the cutover gate" : "cut over on its own")
        << "\n";
  }
  out << "\nopen the page and sign in with a token (each team sees only its own clusters):\n"
      << "  page: " << server->url() << "/\n";
  for (const auto& [team, token] : tokens) out << "  token " << team << ": " << token.text << "\n";
  out << "\nor use the command line, e.g.:\n"
      << "  pgshift --server " << server->url() << " --token-file " << tokens.at("payments").file
      << " migrate list\n"
      << "work directory: " << ws.dir() << " (server log: " << server->log_path() << ")\n\n";
  out.flush();

  // Follow the migrations as the platform; roll ledger back once it waits at the gate.
  const ServerClient& platform = as_team.at(kPlatformTeam);
  std::map<std::string, bool> ended;
  std::map<std::string, int> rejudged;
  const auto deadline = std::chrono::steady_clock::now() + o.migrations_timeout;
  while (!stop && ended.size() < clusters.size()) {
    if (std::chrono::steady_clock::now() > deadline) {
      out << "the migrations did not all end within " << o.migrations_timeout.count()
          << " s; still serving\n";
      break;
    }
    if (!server->Running()) {
      (void)stop_all();
      return Unavailable("demo: pgshift server ended unexpectedly; see " + server->log_path());
    }
    for (const auto& c : clusters) {
      const std::string name = MigrationName(c->plan);
      if (ended.count(name)) continue;
      auto m = platform.Get(ApiPath("/v1/migrations/", name));
      if (!m.ok()) continue;  // shown by the page; asked again next round
      Phase p = PhaseOf(m->body);
      if (c->plan.roll_back_at_gate && p == Phase::kReadyForCutover &&
          !m->body.value("rollback_requested", false)) {
        (void)as_team.at(c->plan.team)
            .Post(ApiPath("/v1/migrations/", name, "/rollback"), {{"keep_target_writes", false}});
      }
      // A gate that failed under the load of three migrations on a small machine (a lag
      // spike, a probe that timed out) is judged again, as an operator's `migrate run` would:
      // twice at most, and said so.
      if (p == Phase::kFailed && m->body.value("failed_in", "") == "validating" &&
          rejudged[name] < 2) {
        ++rejudged[name];
        const auto& events = m->body.value("events", nlohmann::json::array());
        out << "migration " << name << ": validation failed ("
            << (events.empty() ? std::string("?") : events.back().value("reason", "?"))
            << "); the server judges it again\n";
        out.flush();
        (void)as_team.at(c->plan.team).Post(ApiPath("/v1/migrations/", name, "/start"));
        continue;
      }
      if (Ended(p)) {
        ended[name] = true;
        out << "migration " << name << ": " << PhaseName(p) << "\n";
        out.flush();
      }
    }
    SleepUnlessStopped(stop, std::chrono::milliseconds(500));
  }
  // The load has shown what it had to; the page keeps the history.
  for (auto& c : clusters) c->load->Stop();
  if (!stop) {
    out << "load stopped; serving until interrupted (Ctrl-C)\n";
    out.flush();
  }
  while (!stop) {
    if (!server->Running()) {
      (void)stop_all();
      return Unavailable("demo: pgshift server ended unexpectedly; see " + server->log_path());
    }
    SleepUnlessStopped(stop, std::chrono::milliseconds(500));
  }
  progress.Update({Phase::kCreated, "stopping the server, the proxies and the clusters"});
  return stop_all();
}

}  // namespace pgshift::demo
