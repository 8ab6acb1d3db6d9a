// The one conversion between the logical slots a migration recorded (MigrationFacts'
// RecordedSlot, decoded from the store by MigrationFacts::FromJson) and cdc's LogicalSlot, which
// the slot handover, verify and rollback act on.
#pragma once

#include <vector>

#include "cdc/logical_slot.h"
#include "migration/migration_facts.h"

namespace pgshift {

RecordedSlot ToRecordedSlot(const LogicalSlot& slot);
LogicalSlot ToLogicalSlot(const RecordedSlot& slot);
std::vector<RecordedSlot> ToRecordedSlots(const std::vector<LogicalSlot>& slots);
// The slots the fence recorded on the source; empty when none were (or not yet).
std::vector<LogicalSlot> RecordedSourceSlots(const MigrationFacts& facts);

}  // namespace pgshift
