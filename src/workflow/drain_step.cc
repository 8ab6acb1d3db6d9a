// Drain: nothing acknowledged before the fence may be missing after the cutover.
//
//   1. wait until the target has replayed the final LSN (I2);
//   2. wait until every logical slot's consumer has confirmed the CDC fence point (I4);
//   3. record the slot positions; kPromoting (this record is the promotion's intent, I3).
// Assumes: kDraining with final_lsn recorded. Idempotent: waiting again is harmless.
#include "cdc/slot_handover.h"
#include "platform/replication_status.h"
#include "workflow/steps.h"

namespace pgshift {

Result<StepOutcome> RunDrain(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(Lsn final_lsn, Lsn::Parse(ctx.data().value("final_lsn", "")));
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  ctx.progress().Update({Phase::kDraining, "target replaying up to " + final_lsn.ToString()});
  Status replayed = WaitForReplay(*target, final_lsn, s.drain_timeout, ctx.clock());
  if (!replayed.ok()) return FailedPrecondition(s.name + ": drain: " + replayed.message());

  std::vector<LogicalSlot> slots;
  for (const auto& j : ctx.data().value("slots", nlohmann::json::array())) {
    ASSIGN_OR_RETURN(LogicalSlot slot, LogicalSlot::FromJson(j));
    slots.push_back(slot);
  }
  nlohmann::json confirmed = nlohmann::json::array();
  if (!slots.empty()) {
    ASSIGN_OR_RETURN(Lsn cdc_lsn, Lsn::Parse(ctx.data().value("cdc_fence_lsn", "")));
    ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
    ctx.progress().Update({Phase::kDraining, "waiting for " + std::to_string(slots.size()) +
                                                 " CDC consumer(s) to confirm " +
                                                 cdc_lsn.ToString()});
    Status st = WaitForSlotsConfirmed(*source, slots, cdc_lsn, s.cdc_timeout, ctx.clock());
    if (!st.ok()) return FailedPrecondition(s.name + ": drain: " + st.message());
    ASSIGN_OR_RETURN(std::vector<LogicalSlot> now, ListLogicalSlots(*source));
    for (const auto& slot : now) confirmed.push_back(slot.ToJson());
  }
  RETURN_IF_ERROR(
      ctx.Transition(Phase::kDraining, Phase::kPromoting,
                     "target replayed " + final_lsn.ToString() + "; CDC consumers confirmed",
                     {{"slots_confirmed", confirmed}}));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
