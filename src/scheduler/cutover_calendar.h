// CutoverCalendar: when a cutover may happen. Each team may declare weekly cutover windows
// ("Mon-Fri 09:00-17:00 UTC"); the platform may declare freezes (from .. until, with a reason)
// during which no cutover of any team happens. A team without windows may cut over at any time
// outside a freeze. CutoverAllowedAt answers allowed, or wait with why and until when (the next
// instant the calendar allows one), so that an armed cutover outside its window can say so.
//
// Times are wall seconds since the epoch (UTC); windows are written in UTC (the only zone the
// parser accepts: a server's zone is not something an operator should have to know).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift::scheduler {

// One weekly window: on the days set in `days` (bit 0 = Monday .. bit 6 = Sunday), from
// `start_minute` to `end_minute` (minutes after midnight UTC). end <= start: the window crosses
// midnight and ends on the next day.
struct WeeklyWindow {
  unsigned days = 0;
  int start_minute = 0;
  int end_minute = 0;
  std::string text;  // as written, for messages
};

// "Mon-Fri 09:00-17:00 UTC", "Sat,Sun 00:00-24:00 UTC", "daily 22:00-02:00 UTC".
// kInvalidArgument saying what is wrong.
Result<WeeklyWindow> ParseWeeklyWindow(const std::string& text);

struct Freeze {
  std::string name;
  double from = 0;   // wall seconds
  double until = 0;  // wall seconds, exclusive
  std::string reason;
};

// "2026-12-20T00:00:00Z" (RFC 3339, Z or +hh:mm) into wall seconds.
Result<double> ParseRfc3339(const std::string& text);
std::string FormatRfc3339(double wall_seconds);

struct CutoverCalendar {
  std::map<std::string, std::vector<WeeklyWindow>> team_windows;
  std::vector<Freeze> freezes;
};

struct CutoverDecision {
  bool allowed = false;
  std::string why;   // !allowed: "outside team payments's cutover window (Mon-Fri ...)"
  double until = 0;  // !allowed: the next instant one is allowed (0: none within a year)
};

CutoverDecision CutoverAllowedAt(const CutoverCalendar& calendar, const std::string& team,
                                 double now);

}  // namespace pgshift::scheduler
