// Cutover windows and freezes: parsing (and its refusals), membership on both sides of a
// window's edges, windows crossing midnight, freezes with their reason, and the next instant
// allowed (skipping a freeze that covers the next window).
#include "scheduler/cutover_calendar.h"

#include <gtest/gtest.h>

namespace pgshift::scheduler {
namespace {

double At(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

CutoverCalendar Weekdays(const std::string& team, const std::string& window) {
  CutoverCalendar cal;
  auto w = ParseWeeklyWindow(window);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  cal.team_windows[team].push_back(*w);
  return cal;
}

TEST(CutoverCalendar, ParsesAndRefusesWindows) {
  auto w = ParseWeeklyWindow("Mon-Fri 09:00-17:00 UTC");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->days, 0x1Fu);
  EXPECT_EQ(w->start_minute, 540);
  EXPECT_EQ(w->end_minute, 1020);
  EXPECT_EQ(ParseWeeklyWindow("Sat,Sun 00:00-24:00")->days, 0x60u);
  EXPECT_EQ(ParseWeeklyWindow("Fri-Mon 22:00-02:00 UTC")->days, 0x71u);
  EXPECT_EQ(ParseWeeklyWindow("daily 01:00-02:00 UTC")->days, 0x7Fu);
  for (const char* bad : {"Mon-Fri 09:00-17:00 CET", "Mon-Fry 09:00-17:00 UTC", "Mon-Fri 9-17 UTC",
                          "Mon-Fri 09:00-09:00 UTC", "Mon-Fri", "", "Mon 25:00-26:00 UTC"}) {
    auto r = ParseWeeklyWindow(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseWeeklyWindow("Mon-Fri 09:00-17:00 CET").status().message().find("UTC"),
            std::string::npos);
}

TEST(CutoverCalendar, InsideAndOutsideAWeekdayWindow) {
  CutoverCalendar cal = Weekdays("payments", "Mon-Fri 09:00-17:00 UTC");
  // 2026-11-30 is a Monday.
  EXPECT_TRUE(CutoverAllowedAt(cal, "payments", At("2026-11-30T09:00:00Z")).allowed);
  EXPECT_TRUE(CutoverAllowedAt(cal, "payments", At("2026-11-30T16:59:59Z")).allowed);
  auto after = CutoverAllowedAt(cal, "payments", At("2026-11-30T17:00:00Z"));
  EXPECT_FALSE(after.allowed);
  EXPECT_EQ(after.until, At("2026-12-01T09:00:00Z"));
  EXPECT_NE(after.why.find("outside team payments's cutover window (Mon-Fri 09:00-17:00 UTC)"),
            std::string::npos)
      << after.why;
  EXPECT_NE(after.why.find("next allowed at 2026-12-01T09:00:00Z"), std::string::npos);
  // Saturday waits for Monday.
  auto saturday = CutoverAllowedAt(cal, "payments", At("2026-12-05T12:00:00Z"));
  EXPECT_FALSE(saturday.allowed);
  EXPECT_EQ(saturday.until, At("2026-12-07T09:00:00Z"));
  // A team without windows may cut over at any time.
  EXPECT_TRUE(CutoverAllowedAt(cal, "search", At("2026-12-05T12:00:00Z")).allowed);
}

TEST(CutoverCalendar, AWindowCrossingMidnight) {
  CutoverCalendar cal = Weekdays("t", "Fri 22:00-02:00 UTC");  // 2026-12-04 is a Friday
  EXPECT_TRUE(CutoverAllowedAt(cal, "t", At("2026-12-04T23:30:00Z")).allowed);
  EXPECT_TRUE(CutoverAllowedAt(cal, "t", At("2026-12-05T01:59:00Z")).allowed);
  EXPECT_FALSE(CutoverAllowedAt(cal, "t", At("2026-12-05T02:00:00Z")).allowed);
  EXPECT_FALSE(CutoverAllowedAt(cal, "t", At("2026-12-04T01:00:00Z")).allowed);  // Thu night
  EXPECT_EQ(CutoverAllowedAt(cal, "t", At("2026-12-05T02:00:00Z")).until,
            At("2026-12-11T22:00:00Z"));
}

TEST(CutoverCalendar, AFreezeStopsEveryTeamAndSaysWhy) {
  CutoverCalendar cal = Weekdays("payments", "Mon-Fri 09:00-17:00 UTC");
  cal.freezes.push_back(
      {"year-end", At("2026-12-01T00:00:00Z"), At("2026-12-03T00:00:00Z"), "year-end closing"});
  auto d = CutoverAllowedAt(cal, "search", At("2026-12-02T10:00:00Z"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.until, At("2026-12-03T00:00:00Z"));  // search has no window
  EXPECT_NE(d.why.find("freeze year-end until 2026-12-03T00:00:00Z: year-end closing"),
            std::string::npos)
      << d.why;
  // payments: the freeze covers Tuesday's and Wednesday's windows; the next is Thursday's.
  auto p = CutoverAllowedAt(cal, "payments", At("2026-11-30T18:00:00Z"));
  EXPECT_FALSE(p.allowed);
  EXPECT_EQ(p.until, At("2026-12-03T09:00:00Z"));
  EXPECT_TRUE(CutoverAllowedAt(cal, "payments", At("2026-12-03T09:00:00Z")).allowed);
  EXPECT_FALSE(CutoverAllowedAt(cal, "payments", At("2026-12-01T10:00:00Z")).allowed);
}

TEST(CutoverCalendar, Rfc3339RoundTrip) {
  EXPECT_EQ(At("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(At("2026-11-30T10:00:00+01:00"), At("2026-11-30T09:00:00Z"));
  EXPECT_EQ(FormatRfc3339(At("2026-11-30T09:00:00Z")), "2026-11-30T09:00:00Z");
  EXPECT_FALSE(ParseRfc3339("2026-11-30 09:00").ok());
  EXPECT_FALSE(ParseRfc3339("2026-11-30T09:00:00").ok());
}

}  // namespace
}  // namespace pgshift::scheduler
