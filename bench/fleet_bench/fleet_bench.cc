// fleet_bench: the compiled half of bench/fleet (issue 13). Prints ONE JSON object on stdout,
// progress on stderr.
//
// Real part, as a platform user would drive it: N local source clusters registered through the
// server's HTTP API with labels, each behind its own proxy route and under light load through
// that route (pgbench TPC-B-like at a fixed rate, PgbenchLoad, plus one ledger writer whose
// acknowledged rows are the lost-commit check), migrated by ONE campaign (a label selector,
// waves such as 1, 5, rest, a short soak, halt on the first failure) through one
// `pgshift server` on a PostgreSQL store; then M more clusters by a second campaign driven by
// two servers sharing the store, the one holding the most leases SIGKILLed midway. Reported:
// wall time, migrations completed / rolled back / failed, the commit gap each migration's
// application saw (median, max), failed transactions (pgbench's and the ledger's), lost commits,
// the takeover time after the kill, and the servers' CPU seconds and peak memory.
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
#include <set>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "cutover_gap.h"
#include "fixture/fleet_env.h"
#include "migration/phase.h"
#include "pg/connection.h"
#include "pgbench_load.h"
#include "simulated_fleet.h"

namespace pgshift::bench {
namespace {

using nlohmann::json;
using testing::FleetCluster;
using testing::FleetEnv;
using testing::PgCluster;
using testing::ServerProcess;

constexpr int kMaxCutoversAtOnce = 1;

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool Ended(const std::string& phase) {
  return phase == "completed" || phase == "rolled_back" || phase == "failed";
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

struct BenchSettings {
  int rate_tps = 20;
  int segment_s = 5;
  json waves;
  double soak_s = 5;
};

// One source cluster as the bench loads it: the fixture's cluster (proxy route, ledger writer)
// plus pgbench through the route.
struct LoadedCluster {
  FleetCluster* cluster = nullptr;
  std::unique_ptr<PgbenchLoad> pgbench;
};

LoadedCluster AddLoadedCluster(FleetEnv& env, const std::string& name, const std::string& group,
                               const BenchSettings& s) {
  LoadedCluster out;
  out.cluster = &env.AddCluster(name, 0, /*clients=*/1, {{"fleet", group}, {"tier", "bench"}});
  Status init =
      PgbenchLoad::Initialize(out.cluster->source->port(), "postgres", PgCluster::kPassword, "app");
  if (!init.ok()) throw std::runtime_error("cluster " + name + ": " + init.ToString());
  auto load = PgbenchLoad::Start({.port = out.cluster->proxy->port(),
                                  .database = name,
                                  .user = "app",
                                  .rate_tps = s.rate_tps,
                                  .segment_s = s.segment_s});
  if (!load.ok()) throw std::runtime_error("cluster " + name + ": " + load.status().ToString());
  out.pgbench = std::move(load).value();
  return out;
}

struct MigrationResult {
  std::string name, phase;
  double gap_ms = -1;        // in the cutover window (cutover_gap.h); -1 when not measured
  std::string gap_error;     // why it was not
  double ledger_gap_ms = 0;  // over the ledger writer's whole life
  uint64_t ledger_failed = 0;
  PgbenchTotals pgbench;
  uint64_t lost = 0;
  json phases;  // [{"name","seconds"}...] as the server reports them
};

// After the campaign ended: stops every cluster's load (all pgbench loads at once, each after
// its running segment) and counts what failed and what was lost.
std::vector<MigrationResult> Collect(FleetEnv& env, std::vector<LoadedCluster>& clusters,
                                     const std::string& campaign, size_t via) {
  for (auto& c : clusters) c.pgbench->RequestStop();
  std::vector<MigrationResult> out;
  for (auto& c : clusters) {
    MigrationResult r;
    r.name = campaign + "-" + c.cluster->name;
    r.phase = env.Phase(r.name);
    if (r.phase.empty()) r.phase = "not_created";
    c.pgbench->Stop();
    r.pgbench = c.pgbench->totals();
    r.lost = env.StopLoadAndCountLost(*c.cluster);
    auto report = c.cluster->ledger->report();
    r.ledger_gap_ms = report.max_commit_gap_ms;
    auto window = CutoverWindowFromEvents(
        env.store().Value("SELECT coalesce(json_agg(json_build_array(to_phase, at) ORDER BY id), "
                          "'[]')::text FROM pgshift.events WHERE migration = '" +
                          r.name + "'"),
        /*margin_s=*/1.0);
    if (window.ok()) {
      const int port = c.cluster->Route().value("port", 0);
      auto gap =
          LedgerGapInWindow(c.cluster->source->Conn().With("port", std::to_string(port)), *window);
      if (gap.ok()) {
        r.gap_ms = *gap;
      } else {
        r.gap_error = gap.status().ToString();
      }
    } else {
      r.gap_error = window.status().ToString();
    }
    if (!r.gap_error.empty()) {
      r.gap_error = fmt::format("cluster {}, migration {} ({}): cutover gap: {}", c.cluster->name,
                                r.name, r.phase, r.gap_error);
    }
    r.ledger_failed = report.failed_transactions;
    auto view = ServerProcess::Json(env.server(via).Get("/v1/migrations/" + r.name, env.token));
    r.phases = view.value("phases", json::array());
    std::cerr << fmt::format(
        "fleet: {} {} cutover gap {:.1f} ms (whole run {:.1f} ms){}, pgbench {} tx {} failed, "
        "lost {}\n",
        r.name, r.phase, r.gap_ms, r.ledger_gap_ms, r.gap_error.empty() ? "" : " " + r.gap_error,
        r.pgbench.transactions, r.pgbench.FailedForApplication(), r.lost);
    out.push_back(std::move(r));
  }
  return out;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double Max(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

json Summary(const std::vector<MigrationResult>& results, int clusters, int servers, double wall_s,
             double takeover_s) {
  std::vector<double> gaps, ledger_gaps;
  json gap_errors = json::array();
  int completed = 0, rolled_back = 0, failed = 0, not_created = 0;
  uint64_t ledger_failed = 0, lost = 0;
  PgbenchTotals pgbench;
  for (const auto& r : results) {
    if (r.gap_ms >= 0) gaps.push_back(r.gap_ms);
    if (!r.gap_error.empty()) gap_errors.push_back(r.gap_error);
    ledger_gaps.push_back(r.ledger_gap_ms);
    completed += r.phase == "completed";
    rolled_back += r.phase == "rolled_back";
    failed += r.phase != "completed" && r.phase != "rolled_back";
    not_created += r.phase == "not_created";
    ledger_failed += r.ledger_failed;
    pgbench.segments += r.pgbench.segments;
    pgbench.transactions += r.pgbench.transactions;
    pgbench.failed += r.pgbench.failed;
    pgbench.retried += r.pgbench.retried;
    pgbench.aborted_clients += r.pgbench.aborted_clients;
    pgbench.connect_failures += r.pgbench.connect_failures;
    if (!r.pgbench.last_error.empty()) pgbench.last_error = r.pgbench.last_error;
    lost += r.lost;
  }
  return {
      {"clusters", clusters},
      {"servers", servers},
      {"completed", completed},
      {"rolled_back", rolled_back},
      {"failed", failed},
      {"not_created", not_created},
      {"gap_ms_median", Median(gaps)},
      {"gap_ms_max", Max(gaps)},
      {"gaps_measured", gaps.size()},
      {"gap_errors", gap_errors},
      {"ledger_whole_run_gap_ms_median", Median(ledger_gaps)},
      {"ledger_whole_run_gap_ms_max", Max(ledger_gaps)},
      {"failed_transactions", ledger_failed + pgbench.FailedForApplication()},
      {"failed_transactions_detail", {{"ledger", ledger_failed}, {"pgbench", pgbench.ToJson()}}},
      {"lost_commits", lost},
      {"takeover_s", takeover_s < 0 ? json(nullptr) : json(takeover_s)},
      {"wall_s", wall_s}};
}

// The owner's pid inside a lease owner string "host:pid:start/n".
pid_t OwnerPid(const std::string& owner) {
  size_t a = owner.find(':');
  return a == std::string::npos ? -1 : std::atoi(owner.c_str() + a + 1);
}

// A campaign's member migrations as the store has them (phase, lease holder's pid), in one
// query on one connection: polling each migration on a new connection every 100 ms starved the
// store of connections with 20 members on a loaded machine. Empty when the query failed (the
// next poll tries again).
struct MemberState {
  std::string phase;
  pid_t owner = -1;
};
std::map<std::string, MemberState> CampaignMembers(PgConnection& store,
                                                   const std::string& campaign) {
  std::map<std::string, MemberState> out;
  auto r = store.Query(
      "SELECT m.name, m.phase, coalesce(l.owner, '') AS owner FROM pgshift.migrations m LEFT "
      "JOIN pgshift.runner_leases l ON l.migration = m.name WHERE m.name LIKE '" +
      campaign + "-%'");
  if (!r.ok()) {
    std::cerr << "fleet: reading campaign " << campaign
              << " from the store: " << r.status().ToString() << "\n";
    return out;
  }
  for (int i = 0; i < r->rows(); ++i) {
    Phase p;
    MemberState m;
    if (ParsePhaseValue(int(r->GetInt(i, "phase", -1)), &p)) m.phase = PhaseName(p);
    m.owner = OwnerPid(r->Get(i, "owner"));
    out[r->Get(i, "name")] = m;
  }
  return out;
}

// POST /v1/campaigns as a team's CI would: the clusters labelled fleet=GROUP, in waves.
void CreateCampaign(FleetEnv& env, size_t via, const std::string& name, const std::string& group,
                    const BenchSettings& s) {
  json body = {{"name", name},
               {"team", "payments"},
               {"selector", {{"fleet", group}}},
               {"waves", s.waves},
               {"soak_s", s.soak_s},
               {"halt", "first_failure"},
               {"options", {{"check_window_s", 1}, {"auto_cutover", true}}}};
  auto r = env.server(via).Post("/v1/campaigns", env.token, body);
  if (r.status != 201) {
    throw std::runtime_error(
        fmt::format("campaign {}: create answered {}: {}", name, r.status, r.body));
  }
}

// The campaign as the server shows it; the loop ends when it finished (completed, halted,
// cancelled) and none of its migrations is still running.
json CampaignView(FleetEnv& env, size_t via, const std::string& name) {
  return ServerProcess::Json(env.server(via).Get("/v1/campaigns/" + name, env.token));
}

bool CampaignDone(const json& view) {
  const std::string state = view.value("state", "");
  if (state == "running" || state == "paused" || state.empty()) return false;
  for (const auto& m : view.value("members", json::array())) {
    if (m["phase"].is_string() && !Ended(m["phase"].get<std::string>())) return false;
  }
  return true;
}

json CampaignOutcome(const json& view) {
  return {{"state", view.value("state", "")},
          {"halt_reason", view.value("halt_reason", json(nullptr))},
          {"progress", view.value("progress", json(nullptr))}};
}

void WaitForCampaign(FleetEnv& env, const size_t& via, const std::string& name,
                     std::chrono::seconds timeout, const std::function<void()>& each_poll = {}) {
  auto start = std::chrono::steady_clock::now();
  std::string last;
  while (Since(start) < timeout.count()) {
    json view = CampaignView(env, via, name);
    if (CampaignDone(view)) return;
    std::string line =
        fmt::format("{} {}", view.value("state", "?"),
                    view.value("progress", json::object()).value("by_state", json()).dump());
    if (line != last) std::cerr << fmt::format("fleet: campaign {} {}\n", name, line);
    last = line;
    if (each_poll) each_poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::cerr << fmt::format("fleet: campaign {} did not end in {} s\n", name, timeout.count());
}

int Main(int argc, char** argv) {
  InitLogging();
  bool quick = false;
  int clusters = 20, kill_clusters = 10;
  BenchSettings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
      clusters = 3;
      kill_clusters = 3;
    } else if (a == "--clusters" && i + 1 < argc) {
      clusters = std::atoi(argv[++i]);
    } else if (a == "--kill-clusters" && i + 1 < argc) {
      kill_clusters = std::atoi(argv[++i]);
    } else if (a == "--rate" && i + 1 < argc) {
      s.rate_tps = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: fleet_bench [--quick] [--clusters N] [--kill-clusters M] [--rate TPS]\n";
      return 2;
    }
  }
  s.waves = quick ? json::array({1, "rest"}) : json::array({1, 5, "rest"});
  s.soak_s = quick ? 2 : 5;
  const auto bench_start = std::chrono::steady_clock::now();
  FleetEnv env(fmt::format("max_cutovers_at_once = {}\n", kMaxCutoversAtOnce));
  env.StartServer(0);
  const pid_t a_pid = env.server(0).pid();

  // ---- one campaign through one server ----
  std::cerr << fmt::format("fleet: {} clusters through one server\n", clusters);
  std::vector<LoadedCluster> one;
  auto setup1 = std::chrono::steady_clock::now();
  for (int i = 0; i < clusters; ++i)
    one.push_back(AddLoadedCluster(env, fmt::format("c{}", i), "one", s));
  const double one_setup = Since(setup1);
  auto t1 = std::chrono::steady_clock::now();
  CreateCampaign(env, 0, "one", "one", s);
  size_t via_one = 0;
  WaitForCampaign(env, via_one, "one", std::chrono::seconds(3600));
  const double one_wall = Since(t1);
  json one_campaign = CampaignOutcome(CampaignView(env, 0, "one"));
  auto one_results = Collect(env, one, "one", 0);
  json one_summary = Summary(one_results, clusters, 1, one_wall, -1);
  one_summary["server"] = ProcessCost(a_pid);
  one_summary["setup_s"] = one_setup;
  one_summary["campaign"] = one_campaign;

  // ---- one campaign through two servers, the one holding the most leases killed ----
  std::cerr << fmt::format("fleet: {} clusters through two servers, one killed\n", kill_clusters);
  env.StartServer(1);
  const pid_t b_pid = env.server(1).pid();
  std::vector<LoadedCluster> two;
  auto setup2 = std::chrono::steady_clock::now();
  for (int i = 0; i < kill_clusters; ++i) {
    two.push_back(AddLoadedCluster(env, fmt::format("k{}", i), "two", s));
  }
  const double two_setup = Since(setup2);
  auto t2 = std::chrono::steady_clock::now();
  CreateCampaign(env, 1, "two", "two", s);
  size_t via_two = 1;
  // Midway: the first moment half of the members ended or are past the replica build while
  // some unfinished one is under a lease.
  bool killed = false;
  size_t victim = 0;
  std::vector<std::string> held_by_victim;
  json victim_cost, kill_state;
  double kill_wall = 0;
  int64_t event_watermark = 0;
  std::chrono::steady_clock::time_point killed_at;
  PgConnection watch = env.store().Connect();
  std::map<std::string, MemberState> members;
  auto before_kill = [&] {
    if (killed) return;
    int progressed = 0;
    std::map<pid_t, std::vector<std::string>> leases;
    json phases = json::object();
    for (const auto& [n, m] : members) {
      const std::string& p = m.phase;
      phases[n] = p;
      if (p.empty() || p == "created" || p == "replicating") continue;
      ++progressed;
      if (!Ended(p)) leases[m.owner].push_back(n);
    }
    if (2 * progressed < kill_clusters) return;
    size_t a_held = leases[a_pid].size(), b_held = leases[b_pid].size();
    if (a_held + b_held == 0) return;
    victim = a_held >= b_held ? 0 : 1;
    held_by_victim = leases[victim == 0 ? a_pid : b_pid];
    victim_cost = ProcessCost(env.server(victim).pid());
    kill_state = {{"phases", phases}, {"leases_a", a_held}, {"leases_b", b_held}};
    env.server(victim).Kill();
    kill_wall = WallNow();
    killed_at = std::chrono::steady_clock::now();
    auto mark = watch.QueryValue("SELECT coalesce(max(id), 0) FROM pgshift.events");
    event_watermark = mark.ok() ? std::atoll(mark->c_str()) : 0;
    killed = true;
    via_two = victim == 0 ? 1 : 0;
    std::cerr << fmt::format("fleet: server {} (pid {}) killed holding {} lease(s)\n",
                             victim == 0 ? "A" : "B", victim == 0 ? a_pid : b_pid,
                             held_by_victim.size());
  };
  // After the kill: when the survivor holds a lease the victim held (lease_s), all of them
  // (all_leases_s), and its first event on one of them (takeover_s, from the events' own
  // timestamps).
  double lease_s = -1, all_leases_s = -1, takeover_s = -1;
  auto after_kill = [&] {
    if (!killed || held_by_victim.empty()) return;
    const pid_t survivor = victim == 0 ? b_pid : a_pid;
    int taken = 0;
    if (members.empty()) return;  // the poll failed
    for (const auto& n : held_by_victim) {
      const MemberState& m = members[n];
      taken += Ended(m.phase) || m.owner == survivor;
    }
    if (taken > 0 && lease_s < 0) lease_s = Since(killed_at);
    if (taken == int(held_by_victim.size()) && all_leases_s < 0) all_leases_s = Since(killed_at);
    if (takeover_s < 0) {
      std::string in;
      for (const auto& n : held_by_victim) in += (in.empty() ? "'" : ",'") + n + "'";
      auto at = watch.QueryValue(fmt::format(
          "SELECT coalesce(min(at), 0) FROM pgshift.events WHERE id > {} AND migration IN ({})",
          event_watermark, in));
      double first = at.ok() ? std::atof(at->c_str()) : 0;
      if (first > 0) takeover_s = std::max(0.0, first - kill_wall);
    }
  };
  WaitForCampaign(env, via_two, "two", std::chrono::seconds(3600), [&] {
    members = CampaignMembers(watch, "two");
    before_kill();
    after_kill();
  });
  // The last polls may have missed a figure that came with the very end.
  members = CampaignMembers(watch, "two");
  after_kill();
  const double two_wall = Since(t2);
  json two_campaign = CampaignOutcome(CampaignView(env, via_two, "two"));
  auto two_results = Collect(env, two, "two", via_two);
  json two_summary = Summary(two_results, kill_clusters, 2, two_wall, takeover_s);
  const size_t survivor = victim == 0 ? 1 : 0;
  json survivor_cost = ProcessCost(env.server(survivor).pid());
  two_summary["setup_s"] = two_setup;
  two_summary["campaign"] = two_campaign;
  two_summary["killed"] = killed ? json(victim == 0 ? "A" : "B") : json(nullptr);
  two_summary["killed_server_held"] = held_by_victim;
  two_summary["at_kill"] = kill_state;
  two_summary["lease_takeover_s"] = lease_s < 0 ? json(nullptr) : json(lease_s);
  two_summary["all_leases_taken_s"] = all_leases_s < 0 ? json(nullptr) : json(all_leases_s);
  two_summary["servers_cost"] = {{"killed", victim_cost}, {"survivor", survivor_cost}};

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
  for (const auto& [p, sum] : sums) model.phase_seconds[p] = sum.first / sum.second;
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

  // The combined real figures: every migration of both campaigns; the servers' cost: the
  // killed one until its kill (both parts if it was A), the survivor until the end.
  std::vector<MigrationResult> all = one_results;
  all.insert(all.end(), two_results.begin(), two_results.end());
  json real = Summary(all, clusters + kill_clusters, 2, one_wall + two_wall, takeover_s);
  json a_cost = victim == 0 ? victim_cost : survivor_cost;
  json b_cost = victim == 1 ? victim_cost : survivor_cost;
  auto num = [](const json& j, const char* k) {
    return j.value(k, json(0.0)).is_number() ? j[k].get<double>() : 0.0;
  };
  real["cpu_s"] = num(a_cost, "cpu_s") + num(b_cost, "cpu_s");
  real["peak_rss_mib"] = std::max(num(a_cost, "peak_rss_mib"), num(b_cost, "peak_rss_mib"));
  real["servers_cost"] = {{"A", a_cost}, {"B", b_cost}};
  real["campaign"] = {{"waves", s.waves},
                      {"soak_s", s.soak_s},
                      {"halt", "first_failure"},
                      {"max_cutovers_at_once", kMaxCutoversAtOnce},
                      {"selector", "fleet=one, then fleet=two"}};
  real["load"] = {
      {"pgbench",
       fmt::format("pgbench -n -c 1 -R {} -b tpcb-like --max-tries=3 through the cluster's proxy "
                   "route, in {} s segments (scale 1)",
                   s.rate_tps, s.segment_s)},
      {"ledger",
       "one ledger writer per cluster through its proxy route (5 ms think time); its "
       "acknowledged rows are the lost-commit check"}};
  real["one_server"] = one_summary;
  real["two_servers_one_killed"] = two_summary;
  const int stop_code = env.server(survivor).Stop();
  json out = {{"quick", quick},
              {"real", real},
              {"simulated", simulated},
              {"timing_model", model.ToJson()},
              {"survivor_exit_code", stop_code},
              {"bench_wall_s", Since(bench_start)}};
  std::cout << out.dump(2) << std::endl;
  return 0;
}

}  // namespace
}  // namespace pgshift::bench

int main(int argc, char** argv) {
  // Caught here so that the stack unwinds: FleetEnv's destructor stops every cluster, proxy
  // and server the bench started (an uncaught exception would leave them running).
  try {
    return pgshift::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "fleet_bench: " << e.what() << "\n";
    return 1;
  }
}
