// SchedulerConfig: the fleet scheduler's part of the server's configuration (docs/server.md):
// the limits under [server] (max_running, max_running_per_server, max_running_per_team,
// max_running_per_source_host, max_cutovers_at_once, scheduler_workers), a team's
// cutover_window under [team NAME] (repeatable), and [freeze NAME] sections (from, until,
// reason). ServerConfig's parser hands these keys here; each answer is a problem without the
// file and line, which the parser adds.
#pragma once

#include <string>

#include "common/status.h"
#include "scheduler/admission.h"
#include "scheduler/cutover_calendar.h"

namespace pgshift::server {

struct SchedulerConfig {
  scheduler::Limits limits;
  scheduler::CutoverCalendar calendar;
  int workers = 8;  // threads running engine turns (turns of one migration never overlap)
};

// Whether `key` is a scheduler key of [server]; when it is, applies `value` (or returns the
// problem with it).
Result<bool> ApplySchedulerServerKey(SchedulerConfig& c, const std::string& key,
                                     const std::string& value);
// Same for [team NAME]'s keys (cutover_window).
Result<bool> ApplySchedulerTeamKey(SchedulerConfig& c, const std::string& team,
                                   const std::string& key, const std::string& value);
// A key of [freeze NAME] (from, until, reason); every other key is a problem.
Status ApplyFreezeKey(SchedulerConfig& c, const std::string& freeze, const std::string& key,
                      const std::string& value);
// After the file: every freeze has from < until. The problem names the freeze.
Status ValidateFreezes(const SchedulerConfig& c);

}  // namespace pgshift::server
