// The scheduler's keys in the server's configuration: limits under [server], a team's cutover
// windows, [freeze NAME] sections; each mistake names file, line and key.
#include <gtest/gtest.h>

#include "server/server_config.h"

namespace pgshift::server {
namespace {

TEST(SchedulerConfig, ReadsLimitsWindowsAndFreezes) {
  auto c = ParseServerConfig(R"([server]
max_running = 20
max_running_per_server = 10
max_running_per_team = 2
max_running_per_source_host = 1
max_cutovers_at_once = 2
scheduler_workers = 4

[team payments]
cutover_window = Mon-Fri 09:00-17:00 UTC
cutover_window = Sat 10:00-12:00 UTC

[freeze year-end]
from = 2026-12-20T00:00:00Z
until = 2027-01-04T00:00:00Z
reason = year-end closing
)",
                             "s.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const SchedulerConfig& s = c->scheduler;
  EXPECT_EQ(s.limits.max_running, 20);
  EXPECT_EQ(s.limits.max_running_per_server, 10);
  EXPECT_EQ(s.limits.max_running_per_team, 2);
  EXPECT_EQ(s.limits.max_running_per_source_host, 1);
  EXPECT_EQ(s.limits.max_cutovers_at_once, 2);
  EXPECT_EQ(s.workers, 4);
  ASSERT_EQ(s.calendar.team_windows.at("payments").size(), 2u);
  ASSERT_EQ(s.calendar.freezes.size(), 1u);
  EXPECT_EQ(s.calendar.freezes[0].name, "year-end");
  EXPECT_EQ(s.calendar.freezes[0].reason, "year-end closing");
  EXPECT_LT(s.calendar.freezes[0].from, s.calendar.freezes[0].until);
}

TEST(SchedulerConfig, DefaultsAreNoLimitButOneCutoverAtOnce) {
  auto c = ParseServerConfig("[server]\n", "s.ini");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->scheduler.limits.max_running, 0);
  EXPECT_EQ(c->scheduler.limits.max_cutovers_at_once, 1);
  EXPECT_TRUE(c->scheduler.calendar.freezes.empty());
}

TEST(SchedulerConfig, EachMistakeNamesFileLineAndKey) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"[server]\nmax_running = lots\n", "s.ini:2: max_running: 'lots' is not a whole number"},
      {"[server]\nmax_cutovers_at_once = 0\n", "s.ini:2: max_cutovers_at_once: '0' is not"},
      {"[team a]\ncutover_window = Mon-Fri 09:00-17:00 CET\n",
       "s.ini:2: cutover_window: cutover window 'Mon-Fri 09:00-17:00 CET': only UTC"},
      {"[freeze x]\nfrom = tomorrow\n", "s.ini:2: from: 'tomorrow' is not an RFC 3339 time"},
      {"[freeze x]\nwhy = because\n", "s.ini:2: why: unknown key in [freeze x]"},
      {"[freeze x]\nfrom = 2026-12-20T00:00:00Z\nuntil = 2026-12-19T00:00:00Z\n",
       "s.ini: [freeze x]: until is not after from"},
      {"[freeze x]\nreason = r\n", "s.ini: [freeze x] needs both from and until"},
  };
  for (const Case& k : cases) {
    auto c = ParseServerConfig(k.text, "s.ini");
    ASSERT_FALSE(c.ok()) << k.text;
    EXPECT_EQ(c.status().message().rfind(k.expected, 0), 0u) << c.status().message();
  }
}

}  // namespace
}  // namespace pgshift::server
