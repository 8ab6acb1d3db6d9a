// max_running_per_team = 1 with a real server and real clusters: three migrations of one team
// are started at once; a sampler reads the server's store every 50 ms for the whole test and
// counts the team's migrations a runner has acted on that are not finished (and those the
// scheduler admitted); the test fails if it ever sees two. The queue must move: each
// migration in turn reaches the gate once the one before it is cancelled, and a queued one
// says which limit holds it (a note among its events).
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "scheduler_test_env.h"
#include "store/sqlite_store.h"

namespace pgshift::testing {
namespace {

struct Sample {
  int running = 0;   // acted on (not created), not finished, not failed
  int admitted = 0;  // admitted by the scheduler, not finished
  std::set<std::string> names;
};

Sample Take(SqliteStore& store) {
  Sample s;
  auto records = store.List();
  auto controls = store.AllControls();
  if (!records.ok() || !controls.ok()) return s;
  for (const auto& r : *records) {
    if (IsTerminal(r.phase) || r.phase == Phase::kFailed) continue;
    auto c = controls->find(r.name);
    if (c != controls->end() && c->second.value("admitted", false)) ++s.admitted;
    if (r.phase != Phase::kCreated) {
      ++s.running;
      s.names.insert(r.name);
    }
  }
  return s;
}

TEST(SchedulerLimits, OneRunningPerTeamIsNeverExceeded) {
  SchedulerTestEnv env("max_running_per_team = 1");
  env.StartServer();
  ServerProcess& s = env.server();
  const std::vector<std::string> names = {"m1", "m2", "m3"};
  for (int i = 0; i < 3; ++i) {
    const std::string cluster = "c" + std::to_string(i + 1);
    auto reg = s.Post("/v1/clusters", env.payments_token, env.LocalCluster(cluster));
    ASSERT_EQ(reg.status, 201) << reg.body;
    auto created =
        s.Post("/v1/migrations", env.payments_token,
               {{"name", names[i]}, {"cluster", cluster}, {"options", {{"check_window_s", 1}}}});
    ASSERT_EQ(created.status, 201) << created.body;
  }

  auto store = SqliteStore::Open(env.store_path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::atomic<bool> stop{false};
  std::atomic<int> max_running{0}, max_admitted{0}, samples{0};
  std::set<std::string> seen_running;
  std::string when_two;
  std::thread sampler([&] {
    while (!stop) {
      Sample x = Take(**store);
      ++samples;
      if (x.running > max_running) max_running = x.running;
      if (x.admitted > max_admitted) max_admitted = x.admitted;
      if (x.running > 1 && when_two.empty()) {
        for (const auto& n : x.names) when_two += n + " ";
      }
      seen_running.insert(x.names.begin(), x.names.end());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  for (const auto& n : names) {
    auto started = s.Post("/v1/migrations/" + n + "/start", env.payments_token);
    ASSERT_EQ(started.status, 202) << started.body;
  }
  for (size_t i = 0; i < names.size(); ++i) {
    auto at_gate = env.WaitForPhase(names[i], "ready_for_cutover,failed");
    ASSERT_EQ(at_gate["phase"], "ready_for_cutover") << at_gate.dump(2);
    // The ones after it are still queued and say why.
    for (size_t j = i + 1; j < names.size(); ++j) {
      auto queued = ServerProcess::Json(s.Get("/v1/migrations/" + names[j], env.payments_token));
      EXPECT_EQ(queued["phase"], "created") << queued.dump(2);
      EXPECT_NE(queued["events"].dump().find(
                    "queued: team payments already runs 1 migration (max_running_per_team = 1)"),
                std::string::npos)
          << queued["events"].dump(2);
    }
    auto cancel = s.Post("/v1/migrations/" + names[i] + "/cancel", env.payments_token);
    ASSERT_EQ(cancel.status, 202) << cancel.body;
    auto gone = env.WaitForPhase(names[i], "rolled_back,failed");
    ASSERT_EQ(gone["phase"], "rolled_back") << gone.dump(2);
  }
  stop = true;
  sampler.join();

  EXPECT_LE(max_running.load(), 1) << "two of one team ran at once: " << when_two;
  EXPECT_LE(max_admitted.load(), 1);
  EXPECT_EQ(seen_running, std::set<std::string>(names.begin(), names.end()));
  EXPECT_GT(samples.load(), 50);
}

}  // namespace
}  // namespace pgshift::testing
