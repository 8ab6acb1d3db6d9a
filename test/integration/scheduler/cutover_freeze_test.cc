// A freeze with a real server and a real cluster: a migration with auto_cutover reaches the
// gate during a declared freeze and stays there; it says why (the freeze, until when, its
// reason) once among its events, and no cutover begins; it is then cancelled.
#include <gtest/gtest.h>

#include <thread>

#include "common/clock.h"
#include "scheduler/cutover_calendar.h"
#include "scheduler_test_env.h"

namespace pgshift::testing {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SchedulerWindows, AnAutoCutoverWaitsOutAFreezeAndSaysWhyOnce) {
  const double now = Clock::Real().WallSeconds();
  const std::string until = scheduler::FormatRfc3339(now + 3600);
  SchedulerTestEnv env("\n[freeze release-week]\nfrom = " + scheduler::FormatRfc3339(now - 60) +
                       "\nuntil = " + until + "\nreason = release week\n");
  env.StartServer();
  ServerProcess& s = env.server();
  ASSERT_EQ(s.Post("/v1/clusters", env.payments_token, env.LocalCluster("orders")).status, 201);
  auto created = s.Post("/v1/migrations", env.payments_token,
                        {{"name", "orders-1"},
                         {"cluster", "orders"},
                         {"options", {{"check_window_s", 1}, {"auto_cutover", true}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(s.Post("/v1/migrations/orders-1/start", env.payments_token).status, 202);

  const std::string why = "cutover freeze release-week until " + until + ": release week";
  auto waiting = env.WaitFor("/v1/migrations/orders-1", [&](const nlohmann::json& j) {
    return j["events"].dump().find(why) != std::string::npos || j.value("phase", "") == "failed";
  });
  ASSERT_NE(waiting["events"].dump().find(why), std::string::npos) << waiting.dump(2);
  // Several ticks later: still at the gate, no cutover phase, the reason noted once.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  auto later = ServerProcess::Json(s.Get("/v1/migrations/orders-1", env.payments_token));
  EXPECT_EQ(later["phase"], "ready_for_cutover") << later.dump(2);
  const std::string events = later["events"].dump();
  EXPECT_EQ(Count(events, why), 1u) << later["events"].dump(2);
  EXPECT_EQ(events.find("pausing"), std::string::npos) << later["events"].dump(2);

  ASSERT_EQ(s.Post("/v1/migrations/orders-1/cancel", env.payments_token).status, 202);
  auto gone = env.WaitForPhase("orders-1", "rolled_back,failed");
  EXPECT_EQ(gone["phase"], "rolled_back") << gone.dump(2);
}

}  // namespace
}  // namespace pgshift::testing
