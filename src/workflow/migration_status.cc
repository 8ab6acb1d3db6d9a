// Status rendering from the record and its events.
#include "workflow/migration_status.h"

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

}  // namespace pgshift
