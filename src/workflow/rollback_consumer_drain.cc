// DrainCdcConsumersBeforeRewind: the rollback's counterpart of the verify step's wait for CDC
// consumers (see the header for why it must happen before the rewind).
#include "workflow/rollback_consumer_drain.h"

#include "cdc/slot_handover.h"
#include "workflow/recorded_slots.h"

namespace pgshift {
namespace {

// The recorded slots that `server` still has (the verify step may have dropped the old
// source's ones already).
Result<std::vector<LogicalSlot>> StillPresent(PgConnection& server,
                                              const std::vector<LogicalSlot>& recorded) {
  ASSIGN_OR_RETURN(std::vector<LogicalSlot> present, ListLogicalSlots(server));
  std::vector<LogicalSlot> out;
  for (const LogicalSlot& slot : recorded) {
    for (const LogicalSlot& p : present) {
      if (p.name == slot.name) out.push_back(slot);
    }
  }
  return out;
}

std::string Names(const std::vector<LogicalSlot>& slots) {
  std::string out;
  for (const LogicalSlot& s : slots) out += (out.empty() ? "'" : ", '") + s.name + "'";
  return out;
}

// Late (deadline) or gone (precondition) consumers stop the rollback for the operator.
Status Stopped(const std::string& name, const Status& waited) {
  if (waited.code() != Code::kDeadlineExceeded && waited.code() != Code::kFailedPrecondition) {
    return waited;
  }
  return FailedPrecondition(name + ": rollback keeping the target's writes: " + waited.message());
}

}  // namespace

Status DrainCdcConsumersBeforeRewind(MigrationContext& ctx, PgConnection& target) {
  const MigrationSpec& s = ctx.spec();
  if (ctx.facts().rollback_cdc_drained) return Status::Ok();
  std::vector<LogicalSlot> recorded = RecordedSourceSlots(ctx.facts());
  if (recorded.empty()) return Status::Ok();
  const std::string advice_tail =
      ", then run 'pgshift migrate run " + s.name +
      "' again (the rollback waits again; nothing was rewound yet). To give up a consumer's "
      "share instead, drop its slot there (pgshift slots drop): the rollback then goes on "
      "without it";

  // 1. The old source, up to the CDC fence point (a consumer that moved has read that far).
  if (ctx.facts().cdc_fence_lsn) {
    ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
    ASSIGN_OR_RETURN(std::vector<LogicalSlot> on_source, StillPresent(*source, recorded));
    if (!on_source.empty()) {
      const Lsn fence = *ctx.facts().cdc_fence_lsn;
      ctx.progress().Update(
          {Phase::kRollingBack, "waiting for the CDC consumers of " + Names(on_source) +
                                    " to confirm the fence point " + fence.ToString() +
                                    " on the old source before rewinding it"});
      Status waited = WaitForSlotsConfirmed(
          *source, on_source, fence, s.cdc_timeout, ctx.clock(),
          "The old source's slots are removed by the rewind: start or fix these consumers on "
          "the old source" +
              advice_tail);
      if (!waited.ok()) return Stopped(s.name, waited);
    }
  }

  // 2. The target, up to the point marked once it is fenced.
  std::vector<LogicalSlot> on_target;
  if (ctx.facts().slots_on_target) {
    for (const RecordedSlot& slot : *ctx.facts().slots_on_target) {
      on_target.push_back(ToLogicalSlot(slot));
    }
  }
  if (!on_target.empty()) {
    // A slot the operator dropped on the target is a consumer given up (see the advice).
    ASSIGN_OR_RETURN(on_target, StillPresent(target, on_target));
  }
  if (!on_target.empty()) {
    if (!ctx.facts().rollback_target_cdc_lsn) {
      ASSIGN_OR_RETURN(Lsn marked, MarkCdcFencePoint(target, "pgshift:" + s.name + ":rollback"));
      RETURN_IF_ERROR(
          ctx.Record([marked](MigrationFacts& f) { f.rollback_target_cdc_lsn = marked; }));
    }
    const Lsn final_lsn = *ctx.facts().rollback_target_cdc_lsn;
    ctx.progress().Update(
        {Phase::kRollingBack, "waiting for the CDC consumers of " + Names(on_target) +
                                  " on the target to confirm its final position " +
                                  final_lsn.ToString() + " before rewinding the old source"});
    Status waited = WaitForSlotsConfirmed(
        target, on_target, final_lsn, s.cdc_timeout, ctx.clock(),
        "Rows written on the target since the switch reach these consumers only through its "
        "slots (the slots recreated on the old source start after them): start or fix these "
        "consumers on the target" +
            advice_tail);
    if (!waited.ok()) return Stopped(s.name, waited);
  }
  return ctx.Record([](MigrationFacts& f) { f.rollback_cdc_drained = true; });
}

}  // namespace pgshift
