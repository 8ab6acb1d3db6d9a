// Field-by-field copies between RecordedSlot and LogicalSlot.
#include "workflow/recorded_slots.h"

namespace pgshift {

RecordedSlot ToRecordedSlot(const LogicalSlot& s) {
  return RecordedSlot{s.name,       s.plugin, s.database,   s.two_phase,
                      s.temporary,  s.active, s.active_pid, s.confirmed_flush_lsn,
                      s.restart_lsn};
}

LogicalSlot ToLogicalSlot(const RecordedSlot& s) {
  LogicalSlot l;
  l.name = s.name;
  l.plugin = s.plugin;
  l.database = s.database;
  l.two_phase = s.two_phase;
  l.temporary = s.temporary;
  l.active = s.active;
  l.active_pid = s.active_pid;
  l.confirmed_flush_lsn = s.confirmed_flush_lsn;
  l.restart_lsn = s.restart_lsn;
  return l;
}

std::vector<RecordedSlot> ToRecordedSlots(const std::vector<LogicalSlot>& slots) {
  std::vector<RecordedSlot> out;
  for (const auto& s : slots) out.push_back(ToRecordedSlot(s));
  return out;
}

std::vector<LogicalSlot> RecordedSourceSlots(const MigrationFacts& facts) {
  std::vector<LogicalSlot> out;
  if (facts.slots) {
    for (const auto& s : *facts.slots) out.push_back(ToLogicalSlot(s));
  }
  return out;
}

}  // namespace pgshift
