// Status rendering from the record and its events.
#include "workflow/migration_status.h"

#include <cstdio>

#include "migration/migration_spec.h"
#include "migration/phase.h"

namespace pgshift {
namespace {

// Each phase's duration: from the event that entered it to the next event.
nlohmann::json PhaseDurations(const std::vector<EventRecord>& events, double now) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < events.size(); ++i) {
    Phase to = events[i].to_phase;
    if (IsTerminal(to)) continue;
    double end = i + 1 < events.size() ? events[i + 1].at : now;
    out.push_back({{"name", PhaseName(to)}, {"seconds", end - events[i].at}});
  }
  return out;
}

}  // namespace

nlohmann::json MigrationStatusJson(const MigrationRecord& r,
                                   const std::vector<EventRecord>& events) {
  Phase phase = r.phase;
  auto spec = MigrationSpec::FromJson(r.spec);
  bool auto_cutover = spec.ok() && spec->auto_cutover;
  nlohmann::json j = {
      {"name", r.name},
      {"phase", PhaseName(phase)},
      {"state", StateName(phase, r.cutover_requested, auto_cutover)},
      {"cutover_requested", r.cutover_requested},
      {"rollback_requested", r.rollback_requested},
      {"created_at", r.created_at},
      {"updated_at", r.updated_at},
  };
  if (spec.ok()) {
    j["spec"] = spec->ToPublicJson();
    j["source"] = spec->source.Label();
    j["target"] = spec->target.Label();
  }
  // A running migration's current phase is shown up to its last recorded change.
  double now = r.updated_at;
  j["phases"] = PhaseDurations(events, now);
  nlohmann::json ev = nlohmann::json::array();
  for (const auto& e : events) {
    ev.push_back({{"at", e.at},
                  {"from", PhaseName(e.from_phase)},
                  {"to", PhaseName(e.to_phase)},
                  {"reason", e.reason}});
  }
  j["events"] = ev;
  for (const char* key :
       {"checks", "baseline", "final_lsn", "cdc_fence_lsn", "fence", "slots", "slots_on_target",
        "promote_ms", "verify", "rollback_reason", "rollback_from", "failed_in"}) {
    if (r.data.contains(key) && !r.data[key].is_null()) j[key] = r.data[key];
  }
  return j;
}

std::string MigrationStatusText(const nlohmann::json& s) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "migration %s: %s (%s)\n", s.value("name", "").c_str(),
                s.value("phase", "").c_str(), s.value("state", "").c_str());
  out += buf;
  if (s.contains("source")) {
    out += "  source: " + s["source"].get<std::string>() + "\n";
    out += "  target: " + s["target"].get<std::string>() + "\n";
  }
  for (const auto& p : s.value("phases", nlohmann::json::array())) {
    std::snprintf(buf, sizeof buf, "  %-18s %8.3f s\n", p.value("name", "").c_str(),
                  p.value("seconds", 0.0));
    out += buf;
  }
  if (s.contains("checks")) {
    for (const auto& c : s["checks"].value("checks", nlohmann::json::array())) {
      std::snprintf(buf, sizeof buf, "  check %-24s %s\n", c.value("name", "").c_str(),
                    c.value("verdict", "").c_str());
      out += buf;
      if (c.value("verdict", "") != "pass" && !c.value("advice", "").empty()) {
        out += "        advice: " + c.value("advice", "") + "\n";
      }
    }
  }
  const auto& events = s.value("events", nlohmann::json::array());
  if (!events.empty()) out += "  last event: " + events.back().value("reason", "") + "\n";
  return out;
}

}  // namespace pgshift
