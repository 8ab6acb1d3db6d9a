// Reading the scheduler's keys: limits, cutover windows and freezes.
#include "server/scheduler_config.h"

#include <algorithm>

namespace pgshift::server {
namespace {

Result<int> ParseCount(const std::string& key, const std::string& v, int min) {
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(v) < min) {
    return InvalidArgument("'" + v + "' is not a whole number of at least " + std::to_string(min) +
                           (min == 0 && key != "scheduler_workers" ? " (0: no limit)" : ""));
  }
  return std::stoi(v);
}

scheduler::Freeze& FreezeNamed(SchedulerConfig& c, const std::string& name) {
  for (auto& f : c.calendar.freezes) {
    if (f.name == name) return f;
  }
  c.calendar.freezes.push_back({name, 0, 0, ""});
  return c.calendar.freezes.back();
}

}  // namespace

Result<bool> ApplySchedulerServerKey(SchedulerConfig& c, const std::string& key,
                                     const std::string& value) {
  int* target = nullptr;
  int min = 0;
  if (key == "max_running") target = &c.limits.max_running;
  if (key == "max_running_per_server") target = &c.limits.max_running_per_server;
  if (key == "max_running_per_team") target = &c.limits.max_running_per_team;
  if (key == "max_running_per_source_host") target = &c.limits.max_running_per_source_host;
  if (key == "max_cutovers_at_once") target = &c.limits.max_cutovers_at_once, min = 1;
  if (key == "scheduler_workers") target = &c.workers, min = 1;
  if (!target) return false;
  ASSIGN_OR_RETURN(*target, ParseCount(key, value, min));
  return true;
}

Result<bool> ApplySchedulerTeamKey(SchedulerConfig& c, const std::string& team,
                                   const std::string& key, const std::string& value) {
  if (key != "cutover_window") return false;
  ASSIGN_OR_RETURN(scheduler::WeeklyWindow w, scheduler::ParseWeeklyWindow(value));
  c.calendar.team_windows[team].push_back(w);
  return true;
}

Status ApplyFreezeKey(SchedulerConfig& c, const std::string& freeze, const std::string& key,
                      const std::string& value) {
  scheduler::Freeze& f = FreezeNamed(c, freeze);
  if (key == "from" || key == "until") {
    ASSIGN_OR_RETURN(double t, scheduler::ParseRfc3339(value));
    (key == "from" ? f.from : f.until) = t;
  } else if (key == "reason") {
    f.reason = value;
  } else {
    return InvalidArgument("unknown key in [freeze " + freeze + "] (expected from, until, reason)");
  }
  return Status::Ok();
}

Status ValidateFreezes(const SchedulerConfig& c) {
  for (const auto& f : c.calendar.freezes) {
    if (f.from == 0 || f.until == 0) {
      return InvalidArgument("[freeze " + f.name + "] needs both from and until (RFC 3339)");
    }
    if (f.until <= f.from) {
      return InvalidArgument("[freeze " + f.name + "]: until is not after from");
    }
  }
  return Status::Ok();
}

}  // namespace pgshift::server
