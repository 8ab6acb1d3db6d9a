// fleet_bench: the compiled half of bench/fleet (issue 13). Prints ONE JSON object on stdout,
// progress on stderr.
//
// Real part: N local source clusters, each behind its own proxy route with a light ledger load
// through the proxy (one writer), migrated through one `pgshift server` on a PostgreSQL store
// (one start per cluster, automatic cutover); then M more clusters migrated through two
// servers sharing the store, the one driving them SIGKILLed once half of them are past the
// replica build. Reported: wall time, migrations completed / rolled back / failed, the commit
// gap each migration's application saw (median, max), failed transactions, lost commits
// (acknowledged ledger rows missing on the new primary), the takeover time after the kill, and
// the servers' CPU seconds and peak memory.
//
// Simulated part: 400 and 4000 migrations through the same engine and PostgreSQL store code,
// the database work replaced by the timing model measured in the real part (simulated_fleet.h):
// CPU milliseconds and store writes per migration at both sizes.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "fixture/fleet_env.h"
#include "simulated_fleet.h"

namespace pgshift::bench {
namespace {

using nlohmann::json;
using testing::FleetCluster;
using testing::FleetEnv;
using testing::ServerProcess;

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A server's CPU seconds (user + system) and peak resident memory (MiB) from /proc.
json ProcessCost(pid_t pid) {
  json out = {{"cpu_s", nullptr}, {"peak_rss_mib", nullptr}};
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    out["cpu_s"] = (utime + stime) / double(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) out["peak_rss_mib"] = std::stod(line.substr(6)) / 1024.0;
  }
  return out;
}

struct MigrationResult {
  std::string name, phase;
  double gap_ms = 0;
  uint64_t failed_transactions = 0;
  uint64_t lost = 0;
  json phases;  // [{"name","seconds"}...] as the server reports them
};

// Waits for every migration to end, then stops each cluster's load and counts what was lost.
std::vector<MigrationResult> Collect(FleetEnv& env, std::vector<FleetCluster*>& clusters,
                                     const std::vector<std::string>& names, size_t via) {
  std::vector<MigrationResult> out;
  for (size_t i = 0; i < names.size(); ++i) {
    MigrationResult r;
    r.name = names[i];
    r.phase =
        env.WaitForPhase(names[i], "completed,rolled_back,failed", std::chrono::seconds(1800));
    std::cerr << fmt::format("fleet: {} {}\n", names[i], r.phase.empty() ? "timed out" : r.phase);
    r.lost = env.StopLoadAndCountLost(*clusters[i]);
    auto report = clusters[i]->ledger->report();
    r.gap_ms = report.max_commit_gap_ms;
    r.failed_transactions = report.failed_transactions;
    auto view = ServerProcess::Json(env.server(via).Get("/v1/migrations/" + names[i], env.token));
    r.phases = view.value("phases", json::array());
    out.push_back(std::move(r));
  }
  return out;
}

json Summary(const std::vector<MigrationResult>& results, int clusters, int servers, double wall_s,
             double takeover_s) {
  std::vector<double> gaps;
  int completed = 0, rolled_back = 0, failed = 0;
  uint64_t failed_tx = 0, lost = 0;
  for (const auto& r : results) {
    gaps.push_back(r.gap_ms);
    completed += r.phase == "completed";
    rolled_back += r.phase == "rolled_back";
    failed += r.phase != "completed" && r.phase != "rolled_back";
    failed_tx += r.failed_transactions;
    lost += r.lost;
  }
  std::sort(gaps.begin(), gaps.end());
  double median = gaps.empty()      ? 0
                  : gaps.size() % 2 ? gaps[gaps.size() / 2]
                                    : (gaps[gaps.size() / 2 - 1] + gaps[gaps.size() / 2]) / 2;
  return {{"clusters", clusters},
          {"servers", servers},
          {"completed", completed},
          {"rolled_back", rolled_back},
          {"failed", failed},
          {"gap_ms_median", median},
          {"gap_ms_max", gaps.empty() ? 0 : gaps.back()},
          {"failed_transactions", failed_tx},
          {"lost_commits", lost},
          {"takeover_s", takeover_s < 0 ? json(nullptr) : json(takeover_s)},
          {"wall_s", wall_s}};
}

// The owner's pid inside a lease owner string "host:pid:start/n".
pid_t OwnerPid(const std::string& owner) {
  size_t a = owner.find(':');
  return a == std::string::npos ? -1 : std::atoi(owner.c_str() + a + 1);
}

int Main(int argc, char** argv) {
  InitLogging();
  bool quick = false;
  int clusters = 20, kill_clusters = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
      clusters = 3;
      kill_clusters = 2;
    } else if (a == "--clusters" && i + 1 < argc) {
      clusters = std::atoi(argv[++i]);
    } else if (a == "--kill-clusters" && i + 1 < argc) {
      kill_clusters = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: fleet_bench [--quick] [--clusters N] [--kill-clusters M]\n";
      return 2;
    }
  }
  const auto bench_start = std::chrono::steady_clock::now();
  FleetEnv env;
  ServerProcess& a = env.StartServer(0);

  // ---- one server ----
  std::cerr << fmt::format("fleet: {} clusters through one server\n", clusters);
  std::vector<FleetCluster*> one;
  std::vector<std::string> one_names;
  for (int i = 0; i < clusters; ++i) {
    one.push_back(&env.AddCluster(fmt::format("c{}", i), 0, /*clients=*/1));
    one_names.push_back(fmt::format("c{}-m", i));
  }
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < clusters; ++i) env.StartMigration(one_names[i], one[i]->name, 0, true);
  auto one_results = Collect(env, one, one_names, 0);
  const double one_wall = Since(t1);
  json one_summary = Summary(one_results, clusters, 1, one_wall, -1);
  one_summary["server"] = ProcessCost(a.pid());

  // ---- two servers, the driving one killed midway ----
  std::cerr << fmt::format("fleet: {} clusters through two servers, one killed\n", kill_clusters);
  ServerProcess& b = env.StartServer(1);
  std::vector<FleetCluster*> two;
  std::vector<std::string> two_names;
  for (int i = 0; i < kill_clusters; ++i) {
    two.push_back(&env.AddCluster(fmt::format("k{}", i), 0, /*clients=*/1));
    two_names.push_back(fmt::format("k{}-m", i));
  }
  auto t2 = std::chrono::steady_clock::now();
  for (int i = 0; i < kill_clusters; ++i) env.StartMigration(two_names[i], two[i]->name, 0, true);
  // Midway: half of them past the replica build.
  const pid_t a_pid = a.pid();
  while (Since(t2) < 900) {
    int past = 0;
    for (const auto& n : two_names) {
      std::string p = env.Phase(n);
      past += !p.empty() && p != "created" && p != "replicating";
    }
    if (2 * past >= kill_clusters) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::vector<std::string> held_by_a;
  for (const auto& n : two_names) {
    if (OwnerPid(env.Lease(n).value("owner", "")) == a_pid) held_by_a.push_back(n);
  }
  json a_cost = ProcessCost(a_pid);
  env.server(0).Kill();
  auto killed = std::chrono::steady_clock::now();
  std::cerr << fmt::format("fleet: server A killed, it drove {} migration(s)\n", held_by_a.size());
  double takeover_s = -1;
  while (Since(killed) < 120) {
    bool all = true;
    for (const auto& n : held_by_a) {
      std::string p = env.Phase(n);
      bool ended = p == "completed" || p == "rolled_back" || p == "failed";
      all = all && (ended || OwnerPid(env.Lease(n).value("owner", "")) == b.pid());
    }
    if (all) {
      takeover_s = Since(killed);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto two_results = Collect(env, two, two_names, 1);
  const double two_wall = Since(t2);
  json two_summary = Summary(two_results, kill_clusters, 2, two_wall, takeover_s);
  two_summary["killed_server_drove"] = held_by_a.size();
  two_summary["servers_cost"] = {{"killed", a_cost}, {"survivor", ProcessCost(b.pid())}};

  // ---- the timing model, from the real runs ----
  TimingModel model;
  std::map<Phase, std::pair<double, int>> sums;
  int ended = 0, not_completed = 0;
  for (const auto* results : {&one_results, &two_results}) {
    for (const auto& r : *results) {
      ++ended;
      not_completed += r.phase != "completed";
      for (const auto& ph : r.phases) {
        Phase p;
        if (!ParsePhaseName(ph.value("name", ""), &p)) continue;
        sums[p].first += ph.value("seconds", 0.0);
        sums[p].second += 1;
      }
    }
  }
  for (const auto& [p, s] : sums) model.phase_seconds[p] = s.first / s.second;
  model.failure_rate = ended ? double(not_completed) / ended : 0;
  model.time_scale = 0.002;

  // ---- simulated ----
  json simulated = json::array();
  for (int n : {400, 4000}) {
    std::cerr << fmt::format("fleet: simulated {} migrations\n", n);
    SimulationOptions o;
    o.store_conninfo = env.store().ConnString();
    o.schema = fmt::format("sim_{}", n);
    o.migrations = n;
    auto r = RunSimulatedFleet(model, o);
    if (!r.ok()) {
      simulated.push_back({{"migrations", n}, {"error", r.status().message()}});
      continue;
    }
    simulated.push_back(*r);
  }

  // The combined real figures: every migration of both runs.
  std::vector<MigrationResult> all = one_results;
  all.insert(all.end(), two_results.begin(), two_results.end());
  json real = Summary(all, clusters + kill_clusters, 2, one_wall + two_wall, takeover_s);
  real["load"] = "one ledger writer per cluster through its proxy route (5 ms think time)";
  real["one_server"] = one_summary;
  real["two_servers_one_killed"] = two_summary;
  EXPECT_EQ(env.server(1).Stop(), 0);
  json out = {{"quick", quick},
              {"real", real},
              {"simulated", simulated},
              {"timing_model", model.ToJson()},
              {"bench_wall_s", Since(bench_start)}};
  std::cout << out.dump(2) << std::endl;
  return 0;
}

}  // namespace
}  // namespace pgshift::bench

int main(int argc, char** argv) { return pgshift::bench::Main(argc, argv); }
