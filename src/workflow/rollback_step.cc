// Rollback: back to the source, first class at every phase until the migration is finished.
//
// Before the promotion is recorded (I3), the source is still authoritative:
//   1. unfence the source (every layer); 2. resume the routes, which never left it;
//   3. kRolledBack: the source is exactly as it was, nothing lost.
// After the promotion is recorded:
//   1. if asked to keep the target's writes, the platform can, and the target takes the
//      traffic: wait, while it still does, until every CDC consumer has caught up with it
//      (rollback_consumer_drain.h);
//   2. pause the routes; 3. fence the target against writes (if it was promoted);
//   4. if keeping the target's writes: wait until every CDC consumer has read the old source
//      to the fence point and the fenced target to its final position (the slots recreated
//      on the old source start past every target write); if they do not, give the traffic
//      back to the target and stop (kRollingBack, run again to retry), so that a consumer
//      never holds the service down; then pg_rewind the old source to follow the target, let
//      it replay the target's final LSN (bounded by progress, not by the drain timeout:
//      source_rewind_catch_up.h), promote it, recreate the logical slots on it;
//   5. unfence the source; 6. route to the source with a new version and resume;
//   7. kRolledBack.
// Either way the target fence (target_fence_step.h) is lifted first, if it was set: fully
// from a target still in recovery, all but read-only from a promoted one (the rollback's own
// fence of the abandoned target). Best effort on the target; the source never carries it
// (a rewind restores the source's own configuration).
// Each sub-step is idempotent; the ones that must not repeat record that they are done.
#include <algorithm>

#include "cdc/slot_handover.h"
#include "platform/read_only_fence.h"
#include "platform/replication_status.h"
#include "platform/source_rewind_catch_up.h"
#include "workflow/recorded_slots.h"
#include "workflow/rollback_consumer_drain.h"
#include "workflow/steps.h"
#include "workflow/target_fence_step.h"

namespace pgshift {
namespace {

Status RouteBackToSource(MigrationContext& ctx) {
  // From the store's counter, above the switch to the target (drawn earlier from it).
  if (!ctx.facts().rollback_route_version) {
    ASSIGN_OR_RETURN(uint64_t version, ctx.store().NextRouteVersion(ctx.router().RouteKey()));
    RETURN_IF_ERROR(
        ctx.Record([version](MigrationFacts& f) { f.rollback_route_version = version; }));
  }
  uint64_t version = *ctx.facts().rollback_route_version;
  RETURN_IF_ERROR(ctx.router().Switch(EndpointOf(ctx.spec().source), version));
  return ctx.router().Resume();
}

// The catch-up is no held window: it may take longer than a drain, as long as it advances.
// A stall bound above PostgreSQL's default max_standby_streaming_delay (30 s), so that a query
// on the rewound standby delaying replay is waited out, not mistaken for a stall.
CatchUpBounds RewindCatchUpBounds(const MigrationSpec& s) {
  CatchUpBounds b;
  b.stall = std::max<std::chrono::milliseconds>(s.drain_timeout, std::chrono::seconds(60));
  b.overall = std::max<std::chrono::milliseconds>(b.stall, std::chrono::minutes(30));
  return b;
}

void ReportCatchUp(MigrationContext& ctx, const CatchUpProgress& p) {
  ProgressUpdate u{Phase::kRollingBack, "the rewound source catches up with the target: replayed " +
                                            p.replayed.ToString() + " of " + p.goal.ToString()};
  u.lag_bytes = p.bytes_left;
  u.bytes_done = p.bytes_total - p.bytes_left;
  u.bytes_total = p.bytes_total;
  if (p.bytes_per_second > 0) u.eta_seconds = p.bytes_left / p.bytes_per_second;
  ctx.progress().Update(u);
}

// The old source catches up with the new primary, then takes over again with its writes.
// Assumes the CDC consumers drained (DrainCdcConsumersBeforeRewind).
Status RewindSourceBehindTarget(MigrationContext& ctx, PgConnection& target) {
  const MigrationSpec& s = ctx.spec();
  if (ctx.facts().rollback_rewound) return Status::Ok();
  ASSIGN_OR_RETURN(Lsn target_final, CurrentWalLsn(target));
  ctx.DropConnections();
  RETURN_IF_ERROR(ctx.platform().RewindToFollow(s.target, ctx.clock()));
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  RETURN_IF_ERROR(WaitForCatchUp(*source, target_final, RewindCatchUpBounds(s), ctx.clock(),
                                 [&ctx](const CatchUpProgress& p) { ReportCatchUp(ctx, p); }));
  auto took = ctx.platform().Promote(*source, s.promote_timeout, ctx.clock());
  if (!took.ok()) return took.status();
  ctx.DropConnections();
  std::vector<LogicalSlot> slots = RecordedSourceSlots(ctx.facts());
  if (!slots.empty()) {
    auto made = RecreateSlots(s.source, slots);
    if (!made.ok()) return made.status();
  }
  return ctx.Record([](MigrationFacts& f) {
    f.rollback_rewound = true;
    f.rollback_kept_target_writes = true;
  });
}

// The rollback's pause, retried when it does not take hold: sessions still in a transaction
// on the promoted target (slow, or cut off from the proxies) keep it from draining, and they
// end (their transactions cannot commit once the target is fenced); a rollback must not stop
// for them (docs/chaos.md, finding 11). The engine's retry path bounds the wait.
Status PauseForRollback(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  Status paused = ctx.router().Pause(s.pause_deadline, s.pause_lease);
  if (paused.ok() || paused.code() == Code::kUnavailable || paused.code() == Code::kAborted) {
    return paused;
  }
  return Unavailable(s.name +
                     ": rollback: the pause did not take hold, retrying: " + paused.message());
}

// The promoted target's fence in a rollback: SQL layers only (its host files are not the
// source's, and the operator's fence command is for the source, not for this cluster).
FenceOptions RollbackTargetFence(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  FenceOptions fence = FenceOptionsOf(s);
  fence.fence_command.reset();
  fence.unfence_command.reset();
  // Its prepared transactions (replayed from the source) must not stop the way back.
  fence.prepared_need_block = false;
  fence.own_backend_pids = ctx.OwnTargetPids();
  fence.orchestrator_user = s.target.Get("user").empty() ? "postgres" : s.target.Get("user");
  return fence;
}

// Whether the promoted target takes writes now: read-only off in its configuration (the
// value a session resets to, so this process's own override does not count). Off means the
// traffic ran there until this rollback; on means a run before this one fenced it already,
// or the rollback came before the switch lifted the target fence (I8).
Result<bool> TakesWrites(PgConnection& target) {
  ASSIGN_OR_RETURN(std::string reset_to,
                   target.QueryValue("SELECT reset_val FROM pg_settings "
                                     "WHERE name = 'default_transaction_read_only'"));
  return reset_to == "off";
}

// Step 4's way out (docs/chaos.md, finding 12): the consumers did not read to the fenced
// target's final position. Rather than keep both clusters fenced until an operator acts, the
// target, which served until this rollback, serves again; nothing has been rewound. The next
// run waits for the consumers again, from a point it marks then.
Status GiveTrafficBackToTarget(MigrationContext& ctx, PgConnection& target, const Status& why) {
  const std::string& name = ctx.spec().name;
  Status unfenced = MakeExternalPlatform()->Unfence(target, RollbackTargetFence(ctx));
  if (!unfenced.ok()) {
    return FailedPrecondition(why.message() + ". Giving the traffic back to the target failed " +
                              "as well (its fence could not be lifted: " + unfenced.message() +
                              "): no cluster takes writes; run 'pgshift migrate run " + name +
                              "' again");
  }
  RETURN_IF_ERROR(ctx.Record([](MigrationFacts& f) { f.rollback_target_cdc_lsn.reset(); }));
  // The routes may still name the source (a router whose switch came after the fence's lift).
  Status resumed = Status::Ok();
  if (ctx.facts().route_version) {
    resumed = ctx.router().Switch(EndpointOf(ctx.spec().target), *ctx.facts().route_version);
  }
  if (resumed.ok()) resumed = ctx.router().Resume();
  if (!resumed.ok())
    return resumed.Context(name + ": rollback: give the traffic back to the target");
  return FailedPrecondition(why.message() +
                            ". Meanwhile the target takes the traffic again (its fence lifted, "
                            "the routes resumed); the rollback is still asked for");
}

// `outcome`: how the way back went, for the final transition's reason.
Status RollbackAfterPromotion(MigrationContext& ctx, bool keep_writes, std::string* outcome) {
  const MigrationSpec& s = ctx.spec();
  keep_writes = keep_writes && !ctx.facts().rollback_rewound;
  if (keep_writes && !ctx.platform().CanRewind()) {
    return FailedPrecondition(
        s.name +
        ": rollback: keeping the target's writes needs pg_rewind on the source's host "
        "(platform 'local'); this is platform '" +
        std::string(ctx.platform().kind()) + "'");
  }
  // Step 1. A target that never served holds no application write: the plain way back keeps
  // everything (the old source's slots stay and its consumers read on), with no rewind and no
  // wait for consumers (docs/chaos.md, finding 12: a rollback asked in `switching`).
  bool target_served = false;
  if (keep_writes && !ctx.facts().rollback_cdc_drained) {
    ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
    ASSIGN_OR_RETURN(bool in_recovery, InRecovery(*target));
    if (!in_recovery) {
      ASSIGN_OR_RETURN(target_served, TakesWrites(*target));
      if (!target_served) {
        ASSIGN_OR_RETURN(target_served, ctx.router().MayHaveServedOn(EndpointOf(s.target)));
      }
    }
    if (!target_served) {
      ctx.progress().Update({Phase::kRollingBack,
                             "no application write reached the target (fenced since before its "
                             "promotion, no session released there): nothing to keep, so no "
                             "rewind and no wait for CDC consumers"});
      *outcome =
          "traffic back on the source; no application write had reached the target, so there "
          "was nothing to keep";
      keep_writes = false;
    } else {
      // Also when its read-only default still holds: the proxies' sessions write through the
      // target fence from the resume on, before the switch step lifts it, and a lift just
      // made may not have reached this session yet (chaos-20261129T224244Z, round 194: the
      // catch-up was skipped and a consumer frozen across the cutover timed out inside the
      // pause). The catch-up point is a write: this session writes through the fence too.
      RETURN_IF_ERROR(ExemptSessionFromReadOnly(*target));
      RETURN_IF_ERROR(CatchUpCdcConsumersBeforeRollbackPause(ctx, *target));
    }
  }
  RETURN_IF_ERROR(PauseForRollback(ctx));
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  ASSIGN_OR_RETURN(bool in_recovery, InRecovery(*target));
  if (!in_recovery) {
    auto fenced = MakeExternalPlatform()->Fence(*target, RollbackTargetFence(ctx), ctx.clock());
    if (!fenced.ok()) return fenced.status().Context("rollback: fence the target");
    RETURN_IF_ERROR(LiftTargetFenceForRollback(ctx, /*keep_read_only=*/true));
    if (keep_writes) {
      Status drained = DrainCdcConsumersBeforeRewind(ctx, *target);
      if (drained.code() == Code::kFailedPrecondition && target_served) {
        return GiveTrafficBackToTarget(ctx, *target, drained);
      }
      RETURN_IF_ERROR(drained);
      RETURN_IF_ERROR(RewindSourceBehindTarget(ctx, *target));
    }
  }
  if (in_recovery) RETURN_IF_ERROR(LiftTargetFenceForRollback(ctx, /*keep_read_only=*/false));
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  RETURN_IF_ERROR(ctx.platform().Unfence(*source, FenceOptionsOf(s)));
  return RouteBackToSource(ctx);
}

}  // namespace

Result<StepOutcome> RunRollback(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  const MigrationFacts& facts = ctx.facts();
  std::string from = facts.rollback_from ? std::string(PhaseName(*facts.rollback_from)) : "";
  bool after_promotion = facts.rollback_after_promotion.value_or(false);
  bool keep_writes = s.rollback_keeps_target_writes || facts.rollback_keeps_target_writes;
  ctx.progress().Update({Phase::kRollingBack, "rolling back from " + from});
  // A switch to the target started at promotion must land before routing back: a file router
  // could otherwise write its older route last.
  if (ctx.early_switch()) {
    (void)ctx.early_switch()->get();
    ctx.early_switch().reset();
  }
  std::string outcome =
      after_promotion ? "traffic back on the source" : "source unfenced, nothing lost";
  if (after_promotion) {
    RETURN_IF_ERROR(RollbackAfterPromotion(ctx, keep_writes, &outcome));
  } else {
    RETURN_IF_ERROR(LiftTargetFenceForRollback(ctx, /*keep_read_only=*/false));
    ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
    Status unfenced = ctx.platform().Unfence(*source, FenceOptionsOf(s));
    if (!unfenced.ok()) return unfenced.Context(s.name + ": rollback: unfence the source");
    RETURN_IF_ERROR(ctx.router().Resume());
  }
  RETURN_IF_ERROR(ctx.Transition(Phase::kRollingBack, Phase::kRolledBack, outcome));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
