// Fence: the source stops accepting writes from anyone, then its final LSN is read.
//
//   1. apply every fence layer (platform: block new connections, read-only, terminate the
//      remaining client backends; walsenders stay for replication and CDC); the read-only
//      layer's ALTER SYSTEM may have been written by the quiesce step while the pause drained,
//      and is then only put in force here, by the reload that puts the connection block in
//      force; nothing of the fence is in force before every session is held;
//   2. only once the fence holds, list the logical slots and mark the CDC fence point (a
//      logical message consumers will confirm past);
//   3. read the final LSN (after the mark) and record it with the slots and the fence report.
// Reading the LSN before the fence holds would race a straggling commit (I2).
// The idle backends the paused proxies hold are left to them (they close them after the switch);
// after a restart this process knows none, and the fence terminates them like any other.
// Assumes: kFencing, sessions paused. Idempotent: layers already in force are kept.
#include "cdc/slot_handover.h"
#include "platform/replication_status.h"
#include "workflow/recorded_slots.h"
#include "workflow/steps.h"

namespace pgshift {

FenceOptions FenceOptionsOf(const MigrationSpec& s) {
  FenceOptions o;
  o.orchestrator_user = s.source.Get("user").empty() ? "postgres" : s.source.Get("user");
  o.deadline = s.fence_deadline;
  o.fence_command = s.fence_command;
  o.unfence_command = s.unfence_command;
  return o;
}

Result<StepOutcome> RunFence(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(PgConnection * source, ctx.Source());
  ctx.progress().Update({Phase::kFencing, "fencing " + s.source.Label()});
  FenceOptions options = FenceOptionsOf(s);
  options.held_by_router = ctx.router().HeldBackends();
  options.own_backend_pids = ctx.OwnSourcePids();
  options.read_only_staged = ctx.read_only_staged();
  auto report = ctx.platform().Fence(*source, options, ctx.clock());
  if (!report.ok()) {
    return FailedPrecondition(s.name + ": fence: " + report.status().message());
  }
  ctx.progress().Update({Phase::kFencing, "fence holds on " + s.source.Label()});
  auto marking = ctx.clock().Now();
  ASSIGN_OR_RETURN(std::vector<LogicalSlot> slots, ListLogicalSlots(*source));
  // One prepared since the quiesce step looked would hold the slot handover forever. The
  // fence counted them: only then is a query spent, for the message.
  if (report->prepared_transactions > 0) {
    if (Status ok = CheckSlotsRecreatable(*source, slots); !ok.ok()) {
      return FailedPrecondition(s.name + ": fence: " + ok.message());
    }
  }
  Lsn cdc_lsn;
  if (!slots.empty()) {
    ASSIGN_OR_RETURN(cdc_lsn, MarkCdcFencePoint(*source, "pgshift:" + s.name));
  }
  report->layer_ms["cdc_fence_point"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock().Now() - marking).count();
  ASSIGN_OR_RETURN(Lsn final_lsn, CurrentWalLsn(*source));
  FenceRecord fence{report->terminated_backends, report->held_by_router,
                    report->prepared_transactions, report->layers, report->layer_ms};
  RETURN_IF_ERROR(ctx.Transition(Phase::kFencing, Phase::kDraining,
                                 "source fenced at " + final_lsn.ToString(),
                                 [&](MigrationFacts& f) {
                                   f.final_lsn = final_lsn;
                                   f.cdc_fence_lsn = cdc_lsn;
                                   f.slots = ToRecordedSlots(slots);
                                   f.fence = fence;
                                 }));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
