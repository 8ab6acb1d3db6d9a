// Weekly windows and freezes: parsing, membership and the next instant a cutover is allowed.
#include "scheduler/cutover_calendar.h"

#include <strings.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace pgshift::scheduler {
namespace {

constexpr const char* kDayNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr double kDay = 86400;

int DayIndex(const std::string& s) {
  for (int i = 0; i < 7; ++i) {
    if (s.size() == 3 && strncasecmp(s.c_str(), kDayNames[i], 3) == 0) return i;
  }
  return -1;
}

Result<unsigned> ParseDays(const std::string& spec) {
  if (spec == "daily" || spec == "*") return 0x7Fu;
  unsigned days = 0;
  std::stringstream in(spec);
  std::string part;
  while (std::getline(in, part, ',')) {
    auto dash = part.find('-');
    int a = DayIndex(part.substr(0, dash));
    int b = dash == std::string::npos ? a : DayIndex(part.substr(dash + 1));
    if (a < 0 || b < 0) {
      return InvalidArgument("'" + part + "' is not a day or a range of days (Mon..Sun, daily)");
    }
    for (int d = a;; d = (d + 1) % 7) {  // Fri-Mon wraps over the weekend
      days |= 1u << d;
      if (d == b) break;
    }
  }
  if (days == 0) return InvalidArgument("no days given");
  return days;
}

Result<int> ParseMinute(const std::string& hhmm, bool end) {
  int h = 0, m = 0;
  char extra = 0;
  if (std::sscanf(hhmm.c_str(), "%d:%d%c", &h, &m, &extra) != 2 || hhmm.size() != 5 || m < 0 ||
      m > 59 || h < 0 || h > 24 || (h == 24 && (m != 0 || !end))) {
    return InvalidArgument("'" + hhmm + "' is not a time HH:MM");
  }
  return h * 60 + m;
}

int64_t DayNumber(double t) { return static_cast<int64_t>(std::floor(t / kDay)); }
int Weekday(int64_t day) { return static_cast<int>(((day + 3) % 7 + 7) % 7); }  // 0 = Monday
bool HasDay(unsigned days, int64_t day) { return days & (1u << Weekday(day)); }

bool InWindow(const WeeklyWindow& w, double t) {
  int64_t day = DayNumber(t);
  double minute = (t - day * kDay) / 60;
  if (w.start_minute < w.end_minute) {
    return HasDay(w.days, day) && minute >= w.start_minute && minute < w.end_minute;
  }
  return (HasDay(w.days, day) && minute >= w.start_minute) ||
         (HasDay(w.days, day - 1) && minute < w.end_minute);
}

// The first start of `w` strictly after `t`.
double NextStart(const WeeklyWindow& w, double t) {
  int64_t day = DayNumber(t);
  for (int k = 0; k <= 8; ++k) {
    if (!HasDay(w.days, day + k)) continue;
    double s = (day + k) * kDay + w.start_minute * 60.0;
    if (s > t) return s;
  }
  return 0;
}

const Freeze* FreezeAt(const std::vector<Freeze>& freezes, double t) {
  for (const Freeze& f : freezes) {
    if (t >= f.from && t < f.until) return &f;
  }
  return nullptr;
}

bool InAnyWindow(const std::vector<WeeklyWindow>& windows, double t) {
  if (windows.empty()) return true;
  return std::any_of(windows.begin(), windows.end(),
                     [t](const WeeklyWindow& w) { return InWindow(w, t); });
}

// The first instant >= t that no freeze covers and some window (if any) contains; 0 when none
// within a year.
double NextAllowed(const CutoverCalendar& cal, const std::vector<WeeklyWindow>& windows, double t) {
  const double horizon = t + 366 * kDay;
  for (int i = 0; i < 10000 && t < horizon; ++i) {
    if (const Freeze* f = FreezeAt(cal.freezes, t)) {
      t = f->until;
      continue;
    }
    if (InAnyWindow(windows, t)) return t;
    double next = 0;
    for (const WeeklyWindow& w : windows) {
      double s = NextStart(w, t);
      if (s > 0 && (next == 0 || s < next)) next = s;
    }
    if (next == 0) return 0;
    t = next;
  }
  return 0;
}

std::string WindowList(const std::vector<WeeklyWindow>& windows) {
  std::string out;
  for (const WeeklyWindow& w : windows) out += (out.empty() ? "" : "; ") + w.text;
  return out;
}

}  // namespace

Result<WeeklyWindow> ParseWeeklyWindow(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  auto bad = [&](const std::string& why) {
    return InvalidArgument("cutover window '" + text + "': " + why +
                           " (expected e.g. \"Mon-Fri 09:00-17:00 UTC\")");
  };
  if (words.size() < 2 || words.size() > 3) return bad("expected days, a time range and UTC");
  if (words.size() == 3 && words[2] != "UTC" && words[2] != "utc") {
    return bad("only UTC is accepted as the zone");
  }
  auto days = ParseDays(words[0]);
  if (!days.ok()) return bad(days.status().message());
  auto dash = words[1].find('-');
  if (dash == std::string::npos) return bad("'" + words[1] + "' is not a range HH:MM-HH:MM");
  auto start = ParseMinute(words[1].substr(0, dash), false);
  if (!start.ok()) return bad(start.status().message());
  auto end = ParseMinute(words[1].substr(dash + 1), true);
  if (!end.ok()) return bad(end.status().message());
  if (*start == *end) return bad("the window is empty");
  WeeklyWindow w;
  w.days = *days;
  w.start_minute = *start;
  w.end_minute = *end;  // 24:00 is 1440: the end of the day
  w.text = text;
  return w;
}

Result<double> ParseRfc3339(const std::string& text) {
  int y, mo, d, h, mi;
  double s;
  int n = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &s, &n) != 6) {
    return InvalidArgument("'" + text + "' is not an RFC 3339 time (2026-12-20T00:00:00Z)");
  }
  std::string zone = text.substr(n);
  double offset = 0;
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else {
    int zh, zm;
    char sign;
    if (std::sscanf(zone.c_str(), "%c%2d:%2d", &sign, &zh, &zm) != 3 || zone.size() != 6 ||
        (sign != '+' && sign != '-')) {
      return InvalidArgument("'" + text + "' has no zone (Z or +hh:mm)");
    }
    offset = (sign == '+' ? 1 : -1) * (zh * 3600 + zm * 60);
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s < 0 || s >= 61) {
    return InvalidArgument("'" + text + "' is not a valid time");
  }
  return static_cast<double>(timegm(&tm)) + s - offset;
}

std::string FormatRfc3339(double wall_seconds) {
  std::time_t t = static_cast<std::time_t>(std::floor(wall_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

CutoverDecision CutoverAllowedAt(const CutoverCalendar& cal, const std::string& team, double now) {
  static const std::vector<WeeklyWindow> kAnyTime;
  auto it = cal.team_windows.find(team);
  const std::vector<WeeklyWindow>& windows = it == cal.team_windows.end() ? kAnyTime : it->second;
  CutoverDecision d;
  if (const Freeze* f = FreezeAt(cal.freezes, now)) {
    d.why = "freeze " + f->name + " until " + FormatRfc3339(f->until) +
            (f->reason.empty() ? "" : ": " + f->reason);
  } else if (!InAnyWindow(windows, now)) {
    d.why = "outside team " + team + "'s cutover window (" + WindowList(windows) + ")";
  } else {
    d.allowed = true;
    return d;
  }
  d.until = NextAllowed(cal, windows, now);
  if (d.until > 0) d.why += "; next allowed at " + FormatRfc3339(d.until);
  return d;
}

}  // namespace pgshift::scheduler
