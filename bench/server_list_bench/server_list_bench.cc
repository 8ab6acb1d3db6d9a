// server_list_bench: how fast `pgshift server` answers its list endpoints with a fleet's worth
// of migrations in its store. 1000 migrations (100 clusters of two teams, ten migrations each,
// in phases from created to completed with their event rows) are written into a fresh SQLite
// store through the store API directly (nothing runs), then the real `pgshift server` is
// started on it and each of GET /v1/migrations, GET /v1/clusters and GET /v1/migrations/{name}
// (a completed one, with its full event log) is asked `--requests` times in a row, as the
// platform and as a team, one connection per request as the CLI and the page make them.
// Prints ONE JSON object on stdout: per identity and endpoint the median and p99 latency in
// milliseconds, the items and bytes of one answer; progress on stderr (used by bench/server_list).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/process.h"
#include "http/http_client.h"
#include "migration/migration_spec.h"
#include "store/sqlite_store.h"

using nlohmann::json;

namespace pgshift::bench {
namespace {

struct Args {
  std::string dir;
  std::string binary;
  int migrations = 1000;
  int clusters = 100;
  int requests = 200;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      a.dir = v;
    else if (k == "--binary")
      a.binary = v;
    else if (k == "--migrations")
      a.migrations = std::stoi(v);
    else if (k == "--clusters")
      a.clusters = std::stoi(v);
    else if (k == "--requests")
      a.requests = std::stoi(v);
  }
  if (a.dir.empty() || a.binary.empty() || a.migrations < 1 || a.clusters < 1 || a.requests < 1) {
    std::cerr << "usage: server_list_bench --dir WORK --binary PGSHIFT [--migrations 1000] "
                 "[--clusters 100] [--requests 200]\n";
    std::exit(2);
  }
  return a;
}

void Die(const std::string& what, const Status& st) {
  std::cerr << "server_list_bench: " << what << ": " << st.ToString() << "\n";
  std::exit(1);
}

std::string ClusterName(int c) { return "cluster-" + std::to_string(c); }
std::string TeamOf(int c) { return c % 2 == 0 ? "payments" : "search"; }

// The phases a migration walks through to end where `i` says, as the engine records them.
std::vector<Phase> PathFor(int i) {
  using P = Phase;
  static const std::vector<P> kToCompleted = {
      P::kReplicating, P::kValidating, P::kReadyForCutover, P::kPausing,
      P::kFencing,     P::kDraining,   P::kPromoting,       P::kSlotHandover,
      P::kSwitching,   P::kVerifying,  P::kCompleted};
  switch (i % 10) {
    case 0:
    case 1:
      return {};  // created
    case 2:
    case 3:
      return {P::kReplicating, P::kValidating};
    case 4:
    case 5:
      return {P::kReplicating, P::kValidating, P::kReadyForCutover};
    case 6:
      return {P::kReplicating, P::kValidating, P::kReadyForCutover, P::kRollingBack,
              P::kRolledBack};
    default:
      return kToCompleted;
  }
}

void Fill(SqliteStore& store, const Args& a) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (int c = 0; c < a.clusters; ++c) {
    ClusterRecord r;
    r.name = ClusterName(c);
    r.team = TeamOf(c);
    r.labels = {{"tier", c % 3 == 0 ? "gold" : "silver"}};
    r.registration = {
        {"source",
         {{"conninfo", "host=10.0.0." + std::to_string(c % 250) + " port=5432 user=postgres"},
          {"password", {{"file", "/etc/pgshift/" + r.name + ".pw"}}}}},
        {"target", {{"kind", "local"}, {"dir", "/srv/pg/" + r.name}, {"port", 6000 + c}}}};
    if (Status st = store.CreateCluster(r, now); !st.ok()) Die("cluster " + r.name, st);
  }
  for (int i = 0; i < a.migrations; ++i) {
    const int c = i % a.clusters;
    MigrationSpec spec;
    spec.name = "m-" + std::to_string(i);
    spec.source = ConnInfo::Parse("host=10.0.0." + std::to_string(c % 250) +
                                      " port=5432 user=postgres dbname=postgres",
                                  "source")
                      .value();
    spec.target = ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(6000 + c) +
                                      " user=postgres dbname=postgres",
                                  "target")
                      .value();
    spec.target_dir = "/srv/pg/" + ClusterName(c) + "-" + std::to_string(i);
    spec.target_port = 6000 + c;
    MigrationRecord rec;
    rec.name = spec.name;
    rec.spec = spec.ToJson();
    if (Status st = store.Create(rec, now - 3600 + i); !st.ok()) Die("migration " + rec.name, st);
    if (auto m =
            store.MergeControl(rec.name, {{"cluster", ClusterName(c)}, {"team", TeamOf(c)}}, now);
        !m.ok()) {
      Die("control of " + rec.name, m.status());
    }
    std::vector<Phase> path = PathFor(i);
    if (path.empty()) continue;
    auto grant = store.AcquireRunner(rec.name, "bench", std::chrono::hours(1), now, "");
    if (!grant.ok() || !grant->acquired) Die("lease of " + rec.name, grant.status());
    Phase from = Phase::kCreated;
    double at = now - 3000 + i;
    for (Phase to : path) {
      Status st = store.ApplyTransition(rec.name, grant->lease, from, to, "bench: recorded",
                                        json::object(), at += 1.5);
      if (!st.ok()) Die("transition of " + rec.name, st);
      from = to;
    }
    (void)store.ReleaseRunner(rec.name, grant->lease);
    if (i % 100 == 99) std::cerr << "  " << (i + 1) << " migrations written\n";
  }
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string CreateToken(const Args& a, const std::string& store, const std::string& team,
                        bool platform) {
  std::vector<std::string> argv = {a.binary, "--store", store, "server", "token",
                                   "create", "--team",  team,  "--name", "bench-" + team};
  if (platform) argv.push_back("--platform");
  auto out = RunCommand(argv, {.timeout = std::chrono::seconds(30)});
  if (!out.ok()) Die("token create", out.status());
  static const std::regex kToken("^pgs_[A-Za-z0-9_-]{43}$");
  std::istringstream lines(out->output);
  std::string line;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, kToken)) return line;
  }
  Die("token create --team " + team,
      Unavailable("no token printed (exit " + std::to_string(out->exit_code) + ")"));
  return "";
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(std::ceil(p * v.size())) - 1;
  return v[std::min(idx, v.size() - 1)];
}

json Measure(const HttpClient& http, const std::string& token, const std::string& path,
             int requests) {
  HttpRequest req;
  req.method = "GET";
  req.path = path;
  req.headers["authorization"] = "Bearer " + token;
  std::vector<double> ms;
  size_t bytes = 0;
  json sample;
  for (int i = 0; i < requests + 5; ++i) {  // the first five warm up
    auto t0 = std::chrono::steady_clock::now();
    auto r = http.Send(req, std::chrono::seconds(30));
    double took =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok()) Die("GET " + path, r.status());
    if (r->status != 200) {
      Die("GET " + path, Internal("HTTP " + std::to_string(r->status) + ": " + r->body));
    }
    if (i == 0) {
      bytes = r->body.size();
      sample = json::parse(r->body, nullptr, false);
    }
    if (i >= 5) ms.push_back(took);
  }
  json out = {{"median_ms", Percentile(ms, 0.5)},
              {"p99_ms", Percentile(ms, 0.99)},
              {"max_ms", *std::max_element(ms.begin(), ms.end())},
              {"requests", requests},
              {"bytes", bytes}};
  for (const char* list : {"migrations", "clusters"}) {
    if (sample.is_object() && sample.contains(list) && sample[list].is_array()) {
      out["items"] = sample[list].size();
    }
  }
  if (sample.is_object() && sample.contains("events") && sample["events"].is_array()) {
    out["events"] = sample["events"].size();
  }
  return out;
}

}  // namespace
}  // namespace pgshift::bench

int main(int argc, char** argv) {
  using namespace pgshift;
  using namespace pgshift::bench;
  Args a = ParseArgs(argc, argv);
  const std::string store_path = a.dir + "/pgshift.db";
  std::cerr << "writing " << a.migrations << " migrations of " << a.clusters << " clusters into "
            << store_path << "\n";
  auto t_fill = std::chrono::steady_clock::now();
  {
    auto store = SqliteStore::Open(store_path);
    if (!store.ok()) Die("store", store.status());
    Fill(**store, a);
  }
  double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_fill).count();
  const std::string platform = CreateToken(a, store_path, "platform", true);
  const std::string team = CreateToken(a, store_path, "payments", false);

  const std::string config = a.dir + "/server.ini";
  std::ofstream(config) << "[server]\nlisten = 127.0.0.1:0\nstore = " << store_path
                        << "\nplatform_team = platform\n";
  const std::string log = a.dir + "/server.log";
  auto child = ChildProcess::Start({a.binary, "--store", store_path, "server", "--config", config},
                                   {.stdout_path = log});
  if (!child.ok()) Die("pgshift server", child.status());
  std::string address;
  for (int i = 0; i < 600 && address.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::istringstream lines(ReadAll(log));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("listening on http://", 0) == 0) address = line.substr(20);
    }
    if (!child->Running()) Die("pgshift server", Unavailable("exited: " + ReadAll(log)));
  }
  if (address.empty()) Die("pgshift server", Unavailable("not ready in 60 s"));
  std::cerr << "pgshift server at " << address << "; " << a.requests << " requests per case\n";

  HttpClient http(address);
  // A completed migration of cluster 8 (team payments): the longest event log of all, and one
  // the team token may read.
  const std::string one = "/v1/migrations/m-" + std::to_string(std::min(a.migrations - 1, 8));
  json results = json::object();
  for (const auto& [who, token] : {std::pair{"platform", platform}, std::pair{"team", team}}) {
    for (const std::string& path :
         {std::string("/v1/migrations"), std::string("/v1/clusters"), one}) {
      std::cerr << "  " << who << " GET " << path << "\n";
      json m = Measure(http, token, path, a.requests);
      std::cerr << "    median " << m["median_ms"].get<double>() << " ms, p99 "
                << m["p99_ms"].get<double>() << " ms\n";
      results[who]["GET " + (path == one ? std::string("/v1/migrations/{name}") : path)] = m;
    }
  }
  child->Signal(SIGTERM);
  auto code = child->Wait(std::chrono::seconds(30));
  json out = {{"bench", "server_list"},
              {"migrations", a.migrations},
              {"clusters", a.clusters},
              {"teams", {{"platform", "sees all"}, {"team", "payments: half the fleet"}}},
              {"store_fill_seconds", fill_s},
              {"one_migration", one},
              {"results", results},
              {"server_exit", code ? *code : -1}};
  std::cout << out.dump(2) << "\n";
  return 0;
}
