// Status rendering from the record and its events.
#include "workflow/migration_status.h"

#include "migration/migration_facts.h"
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

nlohmann::json SlotsJson(const std::vector<RecordedSlot>& slots) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : slots) out.push_back(RecordedSlotToJson(s));
  return out;
}

// The facts an operator reads, under the keys the steps record them by.
void AddFacts(const MigrationFacts& f, nlohmann::json& j) {
  if (f.checks) j["checks"] = *f.checks;
  if (f.baseline) j["baseline"] = f.baseline->ToJson();
  if (f.final_lsn) j["final_lsn"] = f.final_lsn->ToString();
  if (f.cdc_fence_lsn) j["cdc_fence_lsn"] = f.cdc_fence_lsn->ToString();
  if (f.fence) j["fence"] = FenceRecordToJson(*f.fence);
  if (f.slots) j["slots"] = SlotsJson(*f.slots);
  if (f.slots_on_target) j["slots_on_target"] = SlotsJson(*f.slots_on_target);
  if (f.promote_ms) j["promote_ms"] = *f.promote_ms;
  if (f.verify) j["verify"] = *f.verify;
  if (f.rollback_reason) j["rollback_reason"] = *f.rollback_reason;
  if (f.rollback_from) j["rollback_from"] = PhaseName(*f.rollback_from);
  if (f.failed_in) j["failed_in"] = PhaseName(*f.failed_in);
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
  auto facts = MigrationFacts::FromJson(r.data);
  if (!facts.ok()) {
    // Shown rather than hidden: the rest of the status still helps the operator.
    j["data_error"] = facts.status().message();
    return j;
  }
  AddFacts(*facts, j);
  return j;
}

}  // namespace pgshift
