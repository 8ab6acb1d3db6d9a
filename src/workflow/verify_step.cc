// Verify: the new primary holds what the fenced source held and behaves like it did.
//
//   1. a write succeeds on the target;
//   2. per-table checksums of the fenced source against the snapshots held since promotion
//      (if this process restarted since, or the target did, the snapshots are gone: reported,
//      not compared),
//      after the resumed traffic has had a moment: the checksums scan whole tables, and on a
//      host the new primary shares they slowed the first transactions after the resume;
//   3. commit/rollback rates and latency on the target against the source's baseline;
//   4. wait until every CDC consumer has confirmed the CDC fence point on the old source's
//      slots: only then has it read everything the source committed, and may move to the new
//      primary's slot (I4). The cutover did not wait for this while traffic was held; nothing
//      is held now, so the wait is the long one (cdc_catch_up_timeout): a consumer restarted
//      or briefly stalled is waited for, not reported as a failed migration (docs/chaos.md 13);
//   5. drop the logical slots left on the old source (kept until now for rollback and for the
//      consumers still draining them), so it stops retaining WAL;
//   6. kCompleted; kFailed on a data mismatch (rollback stays one command away) or on a
//      consumer that did not confirm in time (its slot is kept; running the migration again
//      waits again, without re-judging data and health).
// Assumes: kVerifying, traffic on the target, the target fence lifted by the switch (lifted
// here again if a migration recorded before the switch lifted it still has it). Adds no downtime:
// runs while traffic flows.
#include "cdc/slot_handover.h"
#include "workflow/health_baseline.h"
#include "workflow/recorded_slots.h"
#include "workflow/steps.h"
#include "workflow/target_fence_step.h"

namespace pgshift {
namespace {

constexpr auto kLetTrafficResume = std::chrono::milliseconds(300);

// The recorded slots still present on the old source (a re-run after a crash may find some
// already dropped by the run before).
Result<std::vector<LogicalSlot>> OldSourceSlots(MigrationContext& ctx) {
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  ASSIGN_OR_RETURN(std::vector<LogicalSlot> present, ListLogicalSlots(*source));
  std::vector<LogicalSlot> out;
  for (const LogicalSlot& slot : RecordedSourceSlots(ctx.facts())) {
    for (const auto& p : present) {
      if (p.name == slot.name) out.push_back(slot);
    }
  }
  return out;
}

// Steps 4 and 5. kDeadlineExceeded naming the late consumers if they did not confirm.
Status HandOverConsumers(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(std::vector<LogicalSlot> slots, OldSourceSlots(ctx));
  if (slots.empty()) return Status::Ok();
  if (!ctx.facts().cdc_fence_lsn) {
    return InvalidArgument(s.name + ": verify: no CDC fence point recorded by the fence");
  }
  const Lsn cdc_lsn = *ctx.facts().cdc_fence_lsn;
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  ctx.progress().Update({Phase::kVerifying, "waiting for " + std::to_string(slots.size()) +
                                                " CDC consumer(s) to confirm " +
                                                cdc_lsn.ToString() + " on the old source"});
  RETURN_IF_ERROR(
      WaitForSlotsConfirmed(*source, slots, cdc_lsn, s.cdc_catch_up_timeout, ctx.clock()));
  std::vector<std::string> names;
  for (const auto& slot : slots) names.push_back(slot.name);
  return DropSlots(s.source, names, /*force=*/true);
}

// Steps 1 to 3: what is judged once, right after the switch. Returns the problems found.
Result<std::vector<std::string>> JudgeTarget(MigrationContext& ctx, nlohmann::json& verify) {
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  ctx.progress().Update({Phase::kVerifying, "checking writes, data and health on the target"});
  Status write = target->Exec("SELECT txid_current()");
  verify["write_ok"] = write.ok();
  if (!write.ok()) {
    return FailedPrecondition(s.name +
                              ": verify: a write on the new primary failed: " + write.message());
  }
  std::vector<std::string> problems;
  if (!ctx.held_snapshots().empty()) {
    ctx.clock().SleepFor(kLetTrafficResume);
    ASSIGN_OR_RETURN(VerificationResult data, CompareWithSnapshots(s.source, ctx.held_snapshots()));
    ctx.held_snapshots().clear();
    if (!data.snapshot_lost.empty()) {
      // As after a restart of this process: retrying cannot bring the snapshot back (the
      // chaos campaign's target_crash in promoting retried it until its deadline).
      verify["data"] = {{"skipped", "the snapshot held on the target since the fence was lost (" +
                                        data.snapshot_lost + "); data was not compared"}};
    } else {
      verify["data"] = data.ToJson();
    }
    for (const auto& m : data.mismatches) problems.push_back("data: " + m);
  } else {
    verify["data"] = {{"skipped",
                       "the snapshot taken at the fence did not survive a restart of "
                       "pgshift; data was not compared"}};
  }
  ASSIGN_OR_RETURN(HealthRates now,
                   SampleHealth(*target, std::chrono::milliseconds(2000), ctx.clock()));
  HealthRates baseline = ctx.facts().baseline.value_or(HealthRates{});
  std::vector<std::string> health = CompareHealth(baseline, now);
  verify["health"] = {
      {"baseline", baseline.ToJson()}, {"target", now.ToJson()}, {"warnings", health}};
  return problems;
}

}  // namespace

Result<StepOutcome> RunVerify(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  RETURN_IF_ERROR(LiftTargetFence(ctx));
  nlohmann::json verify = ctx.facts().verify.value_or(nlohmann::json::object());
  if (!ctx.facts().cdc_pending) {
    ASSIGN_OR_RETURN(std::vector<std::string> problems, JudgeTarget(ctx, verify));
    if (!problems.empty()) {
      verify["problems"] = problems;
      RETURN_IF_ERROR(
          ctx.Transition(Phase::kVerifying, Phase::kFailed,
                         "verification found a mismatch; run 'pgshift migrate rollback " + s.name +
                             "' to return to the source",
                         [&verify](MigrationFacts& f) {
                           f.verify = verify;
                           f.failed_in = Phase::kVerifying;
                         }));
      return FailedPrecondition(s.name + ": verify: " + problems.front());
    }
  }
  Status handed = HandOverConsumers(ctx);
  if (!handed.ok()) {
    // Late (deadline) or gone (precondition) consumers stop here; other errors are retried.
    if (handed.code() != Code::kDeadlineExceeded && handed.code() != Code::kFailedPrecondition) {
      return handed;
    }
    RETURN_IF_ERROR(ctx.Transition(
        Phase::kVerifying, Phase::kFailed,
        "CDC consumers did not confirm the fence point; the old source's slots are kept. "
        "Once they have, run 'pgshift migrate run " +
            s.name + "' again",
        [&verify](MigrationFacts& f) {
          f.verify = verify;
          f.failed_in = Phase::kVerifying;
          f.cdc_pending = true;
        }));
    return FailedPrecondition(s.name + ": verify: " + handed.message());
  }
  RETURN_IF_ERROR(ctx.Transition(Phase::kVerifying, Phase::kCompleted,
                                 "verified; CDC consumers moved; old source's slots dropped",
                                 [&verify](MigrationFacts& f) {
                                   f.verify = verify;
                                   f.cdc_pending = false;
                                 }));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
