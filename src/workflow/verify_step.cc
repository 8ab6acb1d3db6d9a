// Verify: the new primary holds what the fenced source held and behaves like it did.
//
//   1. a write succeeds on the target;
//   2. per-table checksums of the fenced source against the snapshots held since promotion
//      (if this process restarted since, the snapshots are gone: reported, not compared);
//   3. commit/rollback rates and latency on the target against the source's baseline;
//   4. drop the logical slots left on the old source (kept until now for rollback), so it
//      stops retaining WAL;
//   5. kCompleted, or kFailed on a data mismatch (rollback stays one command away).
// Assumes: kVerifying, traffic on the target. Adds no downtime: runs while traffic flows.
#include "cdc/slot_handover.h"
#include "workflow/health_baseline.h"
#include "workflow/steps.h"

namespace pgshift {
namespace {

Status DropOldSourceSlots(MigrationContext& ctx) {
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  ASSIGN_OR_RETURN(std::vector<LogicalSlot> present, ListLogicalSlots(*source));
  std::vector<std::string> names;
  for (const auto& s : present) names.push_back(s.name);
  if (names.empty()) return Status::Ok();
  return DropSlots(ctx.spec().source, names, /*force=*/true);
}

}  // namespace

Result<StepOutcome> RunVerify(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  ctx.progress().Update({Phase::kVerifying, "checking writes, data and health on the target"});
  nlohmann::json verify;
  Status write = target->Exec("SELECT txid_current()");
  verify["write_ok"] = write.ok();
  if (!write.ok()) {
    return FailedPrecondition(s.name +
                              ": verify: a write on the new primary failed: " + write.message());
  }
  std::vector<std::string> problems;
  if (!ctx.held_snapshots().empty()) {
    ASSIGN_OR_RETURN(VerificationResult data, CompareWithSnapshots(s.source, ctx.held_snapshots()));
    ctx.held_snapshots().clear();
    verify["data"] = data.ToJson();
    for (const auto& m : data.mismatches) problems.push_back("data: " + m);
  } else {
    verify["data"] = {{"skipped",
                       "the snapshot taken at promotion did not survive a restart of "
                       "pgshift; data was not compared"}};
  }
  ASSIGN_OR_RETURN(HealthRates now,
                   SampleHealth(*target, std::chrono::milliseconds(2000), ctx.clock()));
  HealthRates baseline = HealthRates::FromJson(ctx.data().value("baseline", nlohmann::json{}));
  std::vector<std::string> health = CompareHealth(baseline, now);
  verify["health"] = {
      {"baseline", baseline.ToJson()}, {"target", now.ToJson()}, {"warnings", health}};
  if (!problems.empty()) {
    verify["problems"] = problems;
    RETURN_IF_ERROR(ctx.Transition(Phase::kVerifying, Phase::kFailed,
                                   "verification found a mismatch; run 'pgshift migrate rollback " +
                                       s.name + "' to return to the source",
                                   {{"verify", verify}, {"failed_in", "verifying"}}));
    return FailedPrecondition(s.name + ": verify: " + problems.front());
  }
  RETURN_IF_ERROR(DropOldSourceSlots(ctx));
  RETURN_IF_ERROR(ctx.Transition(Phase::kVerifying, Phase::kCompleted,
                                 "verified; old source's slots dropped", {{"verify", verify}}));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
