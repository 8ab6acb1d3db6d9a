// CatchUpCdcConsumersBeforeRollbackPause and DrainCdcConsumersBeforeRewind: the rollback's
// counterparts of the verify step's wait for CDC consumers (see the header for why they must
// happen before the rewind, and why in two parts).
#include "workflow/rollback_consumer_drain.h"

#include <functional>

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

// Which wait this is: its bound, its words, and how it finds the target's point.
struct ConsumerWait {
  std::chrono::milliseconds timeout;
  std::string when;  // ends the progress line: "before the rollback pauses the traffic", ...
  // The point on the target every slot there must confirm (marked and recorded on demand).
  std::function<Result<Lsn>()> target_point;
};

Status WaitForConsumers(MigrationContext& ctx, PgConnection& target, const ConsumerWait& wait) {
  const MigrationSpec& s = ctx.spec();
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
                                    " on the old source " + wait.when});
      Status waited = WaitForSlotsConfirmed(
          *source, on_source, fence, wait.timeout, ctx.clock(),
          "The old source's slots are removed by the rewind: start or fix these consumers on "
          "the old source" +
              advice_tail);
      if (!waited.ok()) return Stopped(s.name, waited);
    }
  }

  // 2. The target, up to the point this wait marks there.
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
  if (on_target.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(Lsn point, wait.target_point());
  ctx.progress().Update({Phase::kRollingBack, "waiting for the CDC consumers of " +
                                                  Names(on_target) + " on the target to confirm " +
                                                  point.ToString() + " " + wait.when});
  Status waited = WaitForSlotsConfirmed(
      target, on_target, point, wait.timeout, ctx.clock(),
      "Rows written on the target since the switch reach these consumers only through its "
      "slots (the slots recreated on the old source start after them): start or fix these "
      "consumers on the target" +
          advice_tail);
  if (!waited.ok()) return Stopped(s.name, waited);
  return Status::Ok();
}

}  // namespace

Status CatchUpCdcConsumersBeforeRollbackPause(MigrationContext& ctx, PgConnection& target) {
  const MigrationSpec& s = ctx.spec();
  if (ctx.facts().rollback_cdc_drained || ctx.facts().rollback_rewound) return Status::Ok();
  ConsumerWait wait{
      s.cdc_catch_up_timeout, "before the rollback pauses the traffic", [&]() -> Result<Lsn> {
        // Marked afresh by every run: the target took writes since the last.
        ASSIGN_OR_RETURN(Lsn marked, MarkCdcFencePoint(target, "pgshift:" + s.name + ":catch-up"));
        RETURN_IF_ERROR(
            ctx.Record([marked](MigrationFacts& f) { f.rollback_cdc_catch_up_lsn = marked; }));
        return marked;
      }};
  return WaitForConsumers(ctx, target, wait);
}

Status DrainCdcConsumersBeforeRewind(MigrationContext& ctx, PgConnection& target) {
  const MigrationSpec& s = ctx.spec();
  if (ctx.facts().rollback_cdc_drained) return Status::Ok();
  ConsumerWait wait{s.cdc_timeout, "before rewinding the old source", [&]() -> Result<Lsn> {
                      if (!ctx.facts().rollback_target_cdc_lsn) {
                        ASSIGN_OR_RETURN(Lsn marked, MarkCdcFencePoint(target, "pgshift:" + s.name +
                                                                                   ":rollback"));
                        RETURN_IF_ERROR(ctx.Record(
                            [marked](MigrationFacts& f) { f.rollback_target_cdc_lsn = marked; }));
                      }
                      return *ctx.facts().rollback_target_cdc_lsn;
                    }};
  RETURN_IF_ERROR(WaitForConsumers(ctx, target, wait));
  return ctx.Record([](MigrationFacts& f) { f.rollback_cdc_drained = true; });
}

}  // namespace pgshift
