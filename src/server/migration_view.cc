// Summary, full view and allowed actions of a migration.
#include "server/migration_view.h"

#include <algorithm>

#include "workflow/migration_control.h"
#include "workflow/migration_status.h"

namespace pgshift::server {
namespace {

bool BeforeCutover(Phase p) {
  return p == Phase::kCreated || p == Phase::kReplicating || p == Phase::kValidating ||
         p == Phase::kReadyForCutover;
}

Status Refuse(const MigrationRecord& r, const std::string& what) {
  return FailedPrecondition("migration '" + r.name + "' is " + std::string(PhaseName(r.phase)) +
                            ": " + what);
}

// A failed migration can be cancelled only if it failed before its cutover began.
bool FailedBeforeCutover(const MigrationRecord& r) {
  Phase in;
  if (!r.data.is_object() || !ParsePhaseName(r.data.value("failed_in", ""), &in)) return true;
  return BeforeCutover(in);
}

}  // namespace

Status ActionAllowed(MigrationAction action, const MigrationRecord& r,
                     const nlohmann::json& control, const TeamConfig& team) {
  const Phase p = r.phase;
  const bool started = control.value("started", false);
  const bool armed = control.contains("arm") && control["arm"].is_object();
  switch (action) {
    case MigrationAction::kStart:
      if ((p == Phase::kCreated && !started) || p == Phase::kFailed) return Status::Ok();
      return Refuse(r, started ? "it was started already" : "there is nothing to start");
    case MigrationAction::kArm:
      if (!BeforeCutover(p) || r.cutover_requested || r.rollback_requested) {
        return Refuse(r, "a cutover can no longer be armed");
      }
      return Status::Ok();
    case MigrationAction::kDisarm:
      if (!armed) {
        return Refuse(r, r.cutover_requested
                             ? "no cutover is armed: the cutover was requested already (roll "
                               "back to undo it)"
                             : "no cutover is armed");
      }
      return Status::Ok();
    case MigrationAction::kCutover:
      if (p != Phase::kReadyForCutover || r.cutover_requested || r.rollback_requested) {
        return Refuse(r, "a cutover needs the migration ready for cutover (every gate green)");
      }
      return Status::Ok();
    case MigrationAction::kRollback:
      if (!CanRollback(p) || p == Phase::kCreated || r.rollback_requested) {
        return Refuse(r, "nothing to roll back");
      }
      return Status::Ok();
    case MigrationAction::kCancel:
      if (!(BeforeCutover(p) || (p == Phase::kFailed && FailedBeforeCutover(r))) ||
          r.rollback_requested) {
        return Refuse(r, "only a migration that has not begun its cutover can be cancelled");
      }
      return Status::Ok();
    case MigrationAction::kApprove:
      if (!team.approval_required) return Refuse(r, "team " + team.name + " needs no approval");
      if (!BeforeCutover(p)) return Refuse(r, "the cutover is no longer waiting for approval");
      return Status::Ok();
  }
  return Internal("unknown action");
}

nlohmann::json ActionsJson(const MigrationRecord& r, const nlohmann::json& control,
                           const TeamConfig& team) {
  auto ok = [&](MigrationAction a) { return ActionAllowed(a, r, control, team).ok(); };
  return {{"start", ok(MigrationAction::kStart)},       {"arm", ok(MigrationAction::kArm)},
          {"disarm", ok(MigrationAction::kDisarm)},     {"cutover", ok(MigrationAction::kCutover)},
          {"rollback", ok(MigrationAction::kRollback)}, {"cancel", ok(MigrationAction::kCancel)},
          {"approve", ok(MigrationAction::kApprove)}};
}

nlohmann::json MigrationSummaryJson(const MigrationRecord& r, const nlohmann::json& control,
                                    const LiveStatus& live) {
  bool auto_cutover = r.spec.is_object() && r.spec.value("auto_cutover", false);
  auto lag = live.LagBytes(r.name);
  return {{"name", r.name},
          {"cluster", control.value("cluster", "")},
          {"team", control.value("team", "")},
          {"phase", PhaseName(r.phase)},
          {"state", StateName(r.phase, r.cutover_requested, auto_cutover)},
          {"lag_bytes", lag ? nlohmann::json(*lag) : nlohmann::json(nullptr)},
          {"updated_at", r.updated_at}};
}

Result<nlohmann::json> MigrationViewJson(ServerContext& ctx, const VisibleMigration& m) {
  // The events first, then the record again: a transition writes its event and the new phase
  // in one store transaction, so a record read after the events is never older than the last
  // of them. (Read the other way round, a transition landing in between gave a view whose last
  // event left the phase it still showed, and a client judged a restarted migration failed.)
  ASSIGN_OR_RETURN(auto events, ctx.migrations.Events(m.record.name));
  ASSIGN_OR_RETURN(const MigrationRecord record, ctx.migrations.Get(m.record.name));
  ASSIGN_OR_RETURN(auto notes, ctx.control.Notes(m.record.name));
  nlohmann::json j = MigrationStatusJson(record, events);
  nlohmann::json all = nlohmann::json::array();
  for (auto e : j["events"]) {
    e["kind"] = "transition";
    all.push_back(std::move(e));
  }
  for (const MigrationNote& n : notes) {
    all.push_back({{"kind", "note"}, {"at", n.at}, {"reason", n.text}});
  }
  std::stable_sort(all.begin(), all.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("at", 0.0) < b.value("at", 0.0);
  });
  j["events"] = all;
  j["cluster"] = m.cluster.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.cluster);
  j["team"] = m.team.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.team);
  j["started"] = m.control.value("started", false);
  j["series"] = ctx.live.Series(m.record.name, ctx.clock.WallSeconds());
  j["arm"] = m.control.contains("arm") ? m.control["arm"] : nlohmann::json(nullptr);
  j["approval"] = m.control.contains("approval") ? m.control["approval"] : nlohmann::json(nullptr);
  j["actions"] = ActionsJson(record, m.control, ctx.config.Team(m.team));
  auto lag = ctx.live.LagBytes(record.name);
  j["lag_bytes"] = lag ? nlohmann::json(*lag) : nlohmann::json(nullptr);
  return j;
}

}  // namespace pgshift::server
