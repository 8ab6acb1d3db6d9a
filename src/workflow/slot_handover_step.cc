// Slot handover: logical slots exist on the new primary before any application write.
//
//   1. recreate every recorded slot (name, plugin, database, two_phase) on the target;
//   2. record their new positions; kSwitching.
// A slot created now starts at the promotion point, after every change consumers confirmed on
// the source, so the stream continues with no gap (I4).
// Assumes: kSlotHandover, target promoted, no application traffic on it; the connections to
// the slots' databases were opened before the pause (quiesce). Idempotent.
#include "cdc/slot_handover.h"
#include "workflow/recorded_slots.h"
#include "workflow/steps.h"

namespace pgshift {

Result<StepOutcome> RunSlotHandover(MigrationContext& ctx) {
  std::vector<LogicalSlot> slots = RecordedSourceSlots(ctx.facts());
  std::vector<RecordedSlot> created;
  if (!slots.empty()) {
    ctx.progress().Update(
        {Phase::kSlotHandover, "recreating " + std::to_string(slots.size()) + " logical slot(s)"});
    auto made =
        RecreateSlots([&ctx](const std::string& dbname) { return ctx.TargetDb(dbname); }, slots);
    if (!made.ok()) {
      return FailedPrecondition(ctx.spec().name + ": slot handover: " + made.status().message());
    }
    created = ToRecordedSlots(*made);
  }
  RETURN_IF_ERROR(ctx.Transition(Phase::kSlotHandover, Phase::kSwitching,
                                 std::to_string(slots.size()) + " logical slot(s) on the target",
                                 [&created](MigrationFacts& f) { f.slots_on_target = created; }));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
