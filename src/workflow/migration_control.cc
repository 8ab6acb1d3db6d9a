// The operator API: typed phase judgement, requests, and run-or-follow.
#include "workflow/migration_control.h"

#include "migration/migration_facts.h"
#include "workflow/migration_status.h"

namespace pgshift {

bool CanCutover(Phase p) {
  return p != Phase::kCompleted && p != Phase::kRolledBack && p != Phase::kFailed;
}

bool CanRollback(Phase p) { return p != Phase::kCompleted && p != Phase::kRolledBack; }

nlohmann::json MigrationSummary::ToJson() const {
  return {{"name", name},
          {"phase", PhaseName(phase)},
          {"state", state},
          {"source", source},
          {"target", target}};
}

MigrationControl::MigrationControl(MigrationStore& store, Clock& clock, EngineSeams seams)
    : store_(store), clock_(clock), seams_(std::move(seams)) {}

Result<MigrationSpec> MigrationControl::Start(const StartRequest& request) {
  return StartMigration(store_, request, clock_);
}

Result<nlohmann::json> MigrationControl::StatusJson(const std::string& name) {
  // Events before the record: a transition writes both in one transaction, so the phase read
  // after is never older than the last event (a runner may be moving it meanwhile).
  ASSIGN_OR_RETURN(auto events, store_.Events(name));
  ASSIGN_OR_RETURN(MigrationRecord r, store_.Get(name));
  return MigrationStatusJson(r, events);
}

Result<std::vector<MigrationSummary>> MigrationControl::List() {
  ASSIGN_OR_RETURN(auto all, store_.List());
  std::vector<MigrationSummary> out;
  for (const auto& r : all) {
    auto ev = store_.Events(r.name);
    auto s = MigrationStatusJson(r, ev.ok() ? *ev : std::vector<EventRecord>{});
    out.push_back(
        {r.name, r.phase, s.value("state", ""), s.value("source", ""), s.value("target", "")});
  }
  return out;
}

Status MigrationControl::RequestCutover(const std::string& name) {
  ASSIGN_OR_RETURN(MigrationRecord r, store_.Get(name));
  if (!CanCutover(r.phase)) {
    return FailedPrecondition(name + " is " + std::string(PhaseName(r.phase)) +
                              "; a cutover is not possible now");
  }
  return store_.RequestCutover(name, clock_.WallSeconds());
}

Status MigrationControl::RequestRollback(const std::string& name, const RollbackRequest& request) {
  ASSIGN_OR_RETURN(MigrationRecord r, store_.Get(name));
  if (!CanRollback(r.phase)) {
    return FailedPrecondition(name + " is " + std::string(PhaseName(r.phase)) +
                              "; nothing to roll back");
  }
  // The flag is a fact like any other: written through the typed facts, in the same store
  // write as the request, so the runner that rolls back reads both together.
  auto facts = MigrationFacts::FromJson(r.data);
  if (!facts.ok()) return facts.status().Context("migration '" + name + "'");
  if (request.keep_target_writes) facts->rollback_keeps_target_writes = true;
  return store_.RequestRollback(name, facts->MergePatchFrom(r.data), clock_.WallSeconds());
}

Result<RunReport> MigrationControl::Run(
    const std::string& name, const RunRequest& request, ProgressSink& progress,
    const std::function<void(const std::string& holder)>& following) {
  if (request.auto_cutover) {
    RETURN_IF_ERROR(store_.RequestCutover(name, clock_.WallSeconds()));
  } else {
    RETURN_IF_ERROR(store_.Get(name).status());
  }
  RunReport report;
  Engine engine(store_, clock_, progress, seams_);
  const EngineOptions options{.wait_at_gate = request.wait_at_gate, .stop = request.stop};
  auto ran = engine.Run(name, options);
  if (ran.ok() && ran->kind == TurnOutcome::Kind::kHeldElsewhere) {
    report.followed = true;
    if (following) following(ran->holder);
    // Until the other runner ends it; if its lease lapses or it dies here, run it ourselves.
    while (ran.ok() && ran->kind == TurnOutcome::Kind::kHeldElsewhere) {
      if (request.stop && request.stop->load()) break;
      clock_.SleepFor(std::chrono::milliseconds(200));
      ASSIGN_OR_RETURN(MigrationRecord r, store_.Get(name));
      if (IsTerminal(r.phase) || r.phase == Phase::kFailed) break;
      ran = engine.Run(name, options);
    }
  }
  ASSIGN_OR_RETURN(MigrationRecord r, store_.Get(name));
  ASSIGN_OR_RETURN(auto events, store_.Events(name));
  report.status = MigrationStatusJson(r, events);
  if (!ran.ok()) {
    report.outcome = ran.status();
    return report;
  }
  // Ended failed, or rolled back on an error rather than because the operator asked.
  if (r.phase == Phase::kFailed || (r.phase == Phase::kRolledBack && !r.rollback_requested)) {
    std::string why = events.empty() ? std::string() : events.back().reason;
    report.outcome =
        FailedPrecondition(name + " is " + std::string(StateName(r.phase, false, false)) + ": " +
                           report.status.value("rollback_reason", why));
  }
  return report;
}

}  // namespace pgshift
