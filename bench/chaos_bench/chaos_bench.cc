// chaos_bench: the compiled half of bench/chaos. Runs chaos rounds one after another (each a
// real migration through `pgshift proxy` under load with one seeded fault, see chaos_round.h),
// `--jobs N` of them at a time, sums the checker's verdicts per fault kind in round order (so
// that the JSON does not depend on N) and prints ONE JSON object on stdout; progress and each
// round's summary line go to stderr. SIGINT/SIGTERM end the rounds in progress early;
// everything it started is stopped before the process exits. The exit code is 1 when a round
// had a violation or could not be set up.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "campaign_template.h"
#include "chaos_round.h"
#include "common/log.h"
#include "fault_plan.h"
#include "loop_volume.h"
#include "network_cut.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pgshift::chaos {
namespace {

std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted = true; }

std::mutex g_say_mu;
void Say(const std::string& msg) {
  std::lock_guard<std::mutex> l(g_say_mu);
  std::cerr << "chaos: " << msg << std::endl;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

json EmptyTally() {
  return {{"rounds", 0},       {"completed", 0},      {"rolled_back", 0},
          {"stuck", 0},        {"lost_commits", 0},   {"split_brain", 0},
          {"cdc_missing", 0},  {"cdc_duplicated", 0}, {"cdc_out_of_order", 0},
          {"leftovers", 0},    {"misrouted", 0},      {"failed_transactions", 0},
          {"setup_errors", 0}, {"violations", 0}};
}

int Main(int argc, char** argv) {
  int rounds = 12;
  int jobs = 1;
  bool quick = false;
  double minutes = 0;      // > 0: start no round after this long (a time-boxed campaign)
  bool plan_only = false;  // print each round's draw and run nothing (to check a replay)
  uint64_t seed = std::random_device{}();
  std::string dir, binary, faults_arg, rounds_out, result_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--rounds") {
      rounds = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--jobs") {
      jobs = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--seed") {
      seed = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--faults") {
      faults_arg = next();
    } else if (a == "--minutes") {
      minutes = std::atof(next().c_str());
    } else if (a == "--plan-only") {
      plan_only = true;
    } else if (a == "--quick") {
      quick = true;
    } else if (a == "--dir") {
      dir = next();
    } else if (a == "--pgshift") {
      binary = next();
    } else if (a == "--rounds-log") {
      rounds_out = next();
    } else if (a == "--result") {
      result_path = next();
    } else {
      std::cerr
          << "usage: chaos_bench [--rounds N] [--jobs N] [--seed S] [--faults a,b] [--quick] "
             "[--plan-only] --dir EMPTY_DIR --pgshift BINARY [--rounds-log FILE] [--result FILE]\n";
      return 2;
    }
  }
  if (dir.empty() || binary.empty()) {
    std::cerr << "chaos_bench: --dir and --pgshift are required (bench/chaos passes them)\n";
    return 2;
  }
  std::vector<Fault> faults;
  for (const auto& name : Split(faults_arg, ',')) {
    auto f = ParseFault(name);
    if (!f) {
      std::cerr << "chaos_bench: unknown fault '" << name << "'\n";
      return 2;
    }
    faults.push_back(*f);
  }
  if (faults.empty()) faults = AllFaults();
  json skipped = json::array();
  if (std::find(faults.begin(), faults.end(), Fault::kNetworkCut) != faults.end() &&
      !NetworkCut::Available()) {
    // Packet filter rules need nft (scripts/setup.sh installs nftables) and CAP_NET_ADMIN.
    faults.erase(std::find(faults.begin(), faults.end(), Fault::kNetworkCut));
    skipped.push_back({{"fault", "network_cut"}, {"why", "nft cannot add a table here"}});
    Say("network_cut skipped: nft cannot add a table here");
    if (faults.empty()) return 77;  // nothing left to run: a skip (ctest's SKIP_RETURN_CODE)
  }
  if (std::find(faults.begin(), faults.end(), Fault::kDiskFull) != faults.end() && !plan_only &&
      !LoopVolume::Available(dir)) {
    // A loop mount needs root, loop devices and mkfs.ext4.
    faults.erase(std::find(faults.begin(), faults.end(), Fault::kDiskFull));
    skipped.push_back({{"fault", "disk_full"}, {"why", "cannot mount a loop file system here"}});
    Say("disk_full skipped: cannot mount a loop file system here");
    if (faults.empty()) return 77;
  }
  if (quick && std::find(argv, argv + argc, std::string("--rounds")) == argv + argc) rounds = 12;

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  InitLogging();

  RoundSettings settings;
  settings.pgshift_binary = binary;
  settings.interrupted = &g_interrupted;
  std::optional<CampaignTemplate> source_template;
  double template_seconds = 0;
  if (!plan_only) {
    auto tt = std::chrono::steady_clock::now();
    auto made = CampaignTemplate::Create(dir + "/template",
                                         {.app_user = kAppUser, .ledger_clients = kLedgerClients});
    if (!made.ok()) {
      std::cerr << "chaos_bench: " << made.status().message() << "\n";
      return 1;
    }
    source_template.emplace(std::move(made).value());
    settings.source_template = &*source_template;
    template_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tt).count();
    Say(fmt::format("template source and PKI made in {:.1f} s", template_seconds));
  }

  json by_fault = json::object();
  for (Fault f : faults) by_fault[std::string(FaultName(f))] = EmptyTally();
  json violations = json::array();
  std::ofstream rounds_log;
  if (!rounds_out.empty()) rounds_log.open(rounds_out, std::ios::app);
  int ran = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto Summary = [&]() -> json {
    return json{
        {"bench", "chaos"},
        {"rounds", ran},
        {"rounds_wanted", rounds},
        {"seed", seed},
        {"quick", quick},
        {"jobs", jobs},
        {"template_seconds", template_seconds},
        {"interrupted", g_interrupted.load()},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
        {"setup",
         {{"load",
           "pgbench -c 4 -j 2 TPC-B-like scale 1 + 2 ledger writers, through "
           "pgshift proxy (mutual TLS); pg_recvlogical test_decoding consumer"},
          {"pause_lease_ms", settings.pause_lease_ms},
          {"cdc_timeout_ms", settings.cdc_timeout_ms},
          {"end_deadline_s", settings.end_deadline.count()}}},
        {"skipped_faults", skipped},
        {"by_fault", by_fault},
        {"violations", violations}};
  };
  // Rewritten after every round, so that a campaign killed half way keeps its figures.
  auto WriteResult = [&](const json& j) {
    if (result_path.empty()) return;
    std::string tmp = result_path + ".tmp";
    std::ofstream(tmp) << j.dump() << "\n";
    std::error_code ec;
    fs::rename(tmp, result_path, ec);
  };
  auto PlanOf = [&](int r) {
    uint64_t round_seed = RoundSeed(seed, r);
    // --quick cycles through the kinds so that 12 rounds cover each of them.
    std::optional<Fault> given;
    if (quick) given = faults[r % faults.size()];
    return DrawPlan(round_seed, r, faults, given, settings.pause_lease_ms, settings.cdc_timeout_ms);
  };
  if (plan_only) {
    for (int r = 0; r < rounds; ++r) {
      FaultPlan plan = PlanOf(r);
      std::cout << json{{"round", r},
                        {"seed", plan.seed},
                        {"fault", FaultName(plan.fault)},
                        {"moment", MomentName(plan.moment)},
                        {"trigger_phase", plan.trigger_phase},
                        {"ending", EndingName(plan.ending)},
                        {"hold_ms", plan.hold_ms}}
                       .dump()
                << std::endl;
    }
    return 0;
  }

  // Rounds run --jobs at a time, each in its own directory with its own ports, servers and nft
  // table; they are taken in order and tallied in order, so a round's plan depends on its seed
  // only and the JSON on the rounds only, not on N.
  struct Slot {
    bool started = false, done = false;
    json res;
  };
  std::vector<Slot> slots(static_cast<size_t>(rounds));
  std::mutex mu;
  std::condition_variable cv;
  int next_round = 0;
  bool time_up = false;
  auto Worker = [&]() {
    // The previous round's directory is deleted while this worker runs its next round.
    std::thread deleting;
    struct JoinAtEnd {
      std::thread& t;
      ~JoinAtEnd() {
        if (t.joinable()) t.join();
      }
    } join_at_end{deleting};
    while (true) {
      int r;
      {
        std::lock_guard<std::mutex> l(mu);
        if (g_interrupted || time_up || next_round >= rounds) return;
        if (minutes > 0 &&
            std::chrono::steady_clock::now() - t0 > std::chrono::duration<double>(minutes * 60)) {
          time_up = true;
          Say(fmt::format("{} minutes passed: no more rounds", minutes));
          cv.notify_all();
          return;
        }
        r = next_round++;
        slots[r].started = true;
      }
      FaultPlan plan = PlanOf(r);
      RoundSettings mine = settings;
      mine.dir = fmt::format("{}/round-{}", dir, r);
      Say(fmt::format("round {}/{} seed {}: {} at {} ({}), ending {}", r + 1, rounds, plan.seed,
                      FaultName(plan.fault), MomentName(plan.moment), plan.trigger_phase,
                      EndingName(plan.ending)));
      json res;
      try {
        res = RunRound(plan, mine);
      } catch (const std::exception& e) {
        // A bug of the bench, not a verdict: reported as the round's setup error.
        res = {{"setup_error", std::string("chaos_bench: ") + e.what()}};
      }
      if (deleting.joinable()) deleting.join();
      deleting = std::thread([d = mine.dir] {
        std::error_code ec;
        fs::remove_all(d, ec);
      });
      std::lock_guard<std::mutex> l(mu);
      slots[r].res = std::move(res);
      slots[r].done = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (int j = 0; j < std::min(jobs, rounds); ++j) workers.emplace_back(Worker);
  int setup_errors = 0;
  for (int r = 0; r < rounds; ++r) {
    json res;
    {
      std::unique_lock<std::mutex> l(mu);
      // A round never started (time up, interrupted) ends the tally; one started is waited for.
      // (g_interrupted is set by a signal handler, which cannot notify: hence the timed wait.)
      while (!slots[r].done) {
        if (!slots[r].started && (time_up || g_interrupted)) break;
        cv.wait_for(l, std::chrono::milliseconds(200));
      }
      if (!slots[r].done) break;
      res = std::move(slots[r].res);
    }
    if (g_interrupted) break;
    FaultPlan plan = PlanOf(r);
    uint64_t round_seed = plan.seed;
    ++ran;
    if (rounds_log) rounds_log << res.dump() << "\n" << std::flush;
    struct WriteAtEnd {
      std::function<void()> f;
      ~WriteAtEnd() { f(); }
    } write_at_end{[&] { WriteResult(Summary()); }};
    json& t = by_fault[std::string(FaultName(plan.fault))];
    t["rounds"] = t["rounds"].get<int>() + 1;
    auto base = [&](json ev) {
      return json{{"round", r},
                  {"seed", round_seed},
                  {"fault", FaultName(plan.fault)},
                  {"moment", MomentName(plan.moment)},
                  {"trigger_phase", plan.trigger_phase},
                  {"ending", EndingName(plan.ending)},
                  {"replay", fmt::format("bench/chaos --seed {} --rounds 1 --faults {}", round_seed,
                                         FaultName(plan.fault))},
                  {"evidence", std::move(ev)}};
    };
    if (res.contains("setup_error")) {
      t["setup_errors"] = t["setup_errors"].get<int>() + 1;
      ++setup_errors;
      Say("round " + std::to_string(r + 1) +
          " setup failed: " + res["setup_error"].get<std::string>());
      continue;
    }
    const json& v = res["verdict"];
    for (const char* k :
         {"completed", "rolled_back", "stuck", "lost_commits", "split_brain", "cdc_missing",
          "cdc_duplicated", "cdc_out_of_order", "leftovers", "misrouted", "failed_transactions"}) {
      t[k] = t[k].get<uint64_t>() + v.value(k, uint64_t{0});
    }
    for (const auto& viol : v["violations"]) {
      t["violations"] = t["violations"].get<int>() + 1;
      json e = base(viol["evidence"]);
      e["kind"] = viol["kind"];
      e["final_phase"] = v.value("final_phase", "");
      e["phases_seen"] = res.value("phases_seen", json::array());
      e["actions"] = res.value("actions", json::array());
      violations.push_back(e);
    }
    Say(fmt::format(
        "round {} seed {}: {} in {:.1f} s, lost {}, cdc missing {} dup {}, "
        "leftovers {}, failed tx {}, violations {}",
        r + 1, round_seed, v.value("final_phase", "?"), res.value("seconds", 0.0),
        v.value("lost_commits", 0), v.value("cdc_missing", 0), v.value("cdc_duplicated", 0),
        v.value("leftovers", 0), v.value("failed_transactions", 0), v["violations"].size()));
  }
  for (auto& w : workers) w.join();
  json out = Summary();
  WriteResult(out);
  std::cout << out.dump() << std::endl;
  return violations.empty() && setup_errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace pgshift::chaos

int main(int argc, char** argv) { return pgshift::chaos::Main(argc, argv); }
