// Validate: every check is a gate, judged under live traffic, before anything irreversible.
//
//   1. run all checks (rates and lag sampled over the spec's window) and record the report;
//   2. record the source's health baseline (commit/rollback rates, statement latency);
//   3. a failing check other than lag stops the migration for the operator (kFailed);
//      lag over threshold keeps validating until it has stayed low for a whole window or the
//      validate timeout passes;
//   4. all green: kReadyForCutover.
// Assumes: kValidating, target streaming. Idempotent: re-running re-judges from scratch.
#include "checks/check.h"
#include "workflow/health_baseline.h"
#include "workflow/steps.h"

namespace pgshift {
namespace {

std::vector<std::string> FailingChecks(const CheckReport& report) {
  std::vector<std::string> out;
  for (const auto& c : report.checks) {
    if (c.verdict == Verdict::kFail) out.push_back(c.name);
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

Result<StepOutcome> RunValidate(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  if (!ctx.facts().validate_started_at) {
    RETURN_IF_ERROR(ctx.Record(
        [now = ctx.clock().WallSeconds()](MigrationFacts& f) { f.validate_started_at = now; }));
  }
  CheckOptions opts;
  opts.window = s.check_window;
  opts.max_lag_bytes = s.max_lag_bytes;
  opts.max_lag_seconds = s.max_lag_seconds;
  if (ctx.router().HoldsSessionsAcrossSwitch()) {  // proxies: name the clients around them
    ASSIGN_OR_RETURN(opts.proxy_roles, ctx.router().BackendRoles());
    opts.block_direct_clients = s.direct_clients == "block";
  }
  ctx.progress().Update(
      {Phase::kValidating,
       "running checks over a " + std::to_string(s.check_window.count() / 1000) + " s window"});
  ASSIGN_OR_RETURN(CheckReport report, RunChecks(s.source, s.target, opts, ctx.clock()));
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  ASSIGN_OR_RETURN(HealthRates baseline,
                   SampleHealth(*source, std::chrono::milliseconds(1000), ctx.clock()));
  RETURN_IF_ERROR(ctx.Record([&](MigrationFacts& f) {
    f.checks = report.ToJson();
    f.baseline = baseline;
  }));

  std::vector<std::string> failing = FailingChecks(report);
  bool only_lag = failing.size() == 1 && failing[0] == "replication_lag";
  if (failing.empty()) {
    RETURN_IF_ERROR(ctx.Transition(Phase::kValidating, Phase::kReadyForCutover,
                                   "every check passed; lag stayed under the threshold for the "
                                   "whole window"));
    return StepOutcome::kMoved;
  }
  double started = ctx.facts().validate_started_at.value_or(ctx.clock().WallSeconds());
  double waited = ctx.clock().WallSeconds() - started;
  if (only_lag && waited * 1000 < static_cast<double>(s.validate_timeout.count())) {
    // Lag oscillates: keep judging whole windows until one is clean.
    return Unavailable(
        "validate: replication lag over the threshold in this window; "
        "judging another window");
  }
  std::string why = "checks failed: " + Join(failing) + " (see 'pgshift migrate status " + s.name +
                    "' for evidence and advice)";
  RETURN_IF_ERROR(ctx.Transition(Phase::kValidating, Phase::kFailed, why,
                                 [](MigrationFacts& f) { f.failed_in = Phase::kValidating; }));
  return FailedPrecondition(s.name + ": validate: " + why);
}

Result<StepOutcome> RunCutoverGate(MigrationContext& ctx) {
  if (ctx.spec().auto_cutover || ctx.record().cutover_requested) {
    RETURN_IF_ERROR(ctx.Transition(Phase::kReadyForCutover, Phase::kPausing,
                                   ctx.spec().auto_cutover ? "automatic cutover: gates green"
                                                           : "operator requested the cutover"));
    return StepOutcome::kMoved;
  }
  return StepOutcome::kWaiting;
}

}  // namespace pgshift
