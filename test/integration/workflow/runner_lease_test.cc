// I7 through the real binary: while one `pgshift migrate run` holds the migration's runner
// lease (waiting at the cutover gate), a second command does not run it too: `migrate cutover`
// records the request and follows the live runner, which performs the cutover.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "fixture/migration_harness.h"

namespace pgshift::testing {
namespace {

TEST(RunnerLease, ASecondCommandFollowsTheLiveRunnerInsteadOfRunningItToo) {
  MigrationHarness h({.load_clients = 0});
  h.Start();
  auto first = std::async(std::launch::async, [&] { return h.Pgshift({"migrate", "run", "m1"}); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (h.Status()["phase"] != "ready_for_cutover") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << h.Status().dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  auto cut = h.Pgshift({"migrate", "cutover", "m1"});
  EXPECT_EQ(cut.exit_code, 0) << cut.output;
  EXPECT_NE(cut.output.find("another pgshift process runs m1; following it"), std::string::npos)
      << cut.output;
  auto ran = first.get();
  EXPECT_EQ(ran.exit_code, 0) << ran.output;
  nlohmann::json status = h.Status();
  EXPECT_EQ(status["state"], "completed");
  // One runner moved it: each phase was entered once.
  int promotions = 0;
  for (const auto& e : status["events"]) promotions += e["to"] == "promoting";
  EXPECT_EQ(promotions, 1);
}

}  // namespace
}  // namespace pgshift::testing
