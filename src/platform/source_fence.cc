// Fence and unfence sequences over a source connection.
#include "platform/source_fence.h"

#include "common/log.h"
#include "pg/prepared_transactions.h"
#include "platform/backend_termination.h"
#include "platform/read_only_fence.h"

namespace pgshift {
namespace {

constexpr const char* kRoleAbilitiesSql =
    "SELECT session_user AS user, pg_has_role('pg_read_all_stats', 'USAGE') AS sees_all, "
    "has_parameter_privilege('default_transaction_read_only', 'ALTER SYSTEM') AS can_alter, "
    "has_function_privilege('pg_reload_conf()', 'EXECUTE') AS can_reload";

// The fence's own connection must be the orchestrator role: the connection block lets that role
// in, and a connection as another role would lock pgshift out.
Status CheckOrchestratorRole(PgConnection& source, const FenceOptions& options) {
  if (options.orchestrator_user.empty()) {
    return InvalidArgument("fence: orchestrator_user is empty; name the role pgshift connects as");
  }
  if (options.deadline.count() <= 0) {
    return InvalidArgument("fence: deadline must be positive (got " +
                           std::to_string(options.deadline.count()) + " ms)");
  }
  ASSIGN_OR_RETURN(PgResult r, source.Query(kRoleAbilitiesSql));
  const std::string user = r.Get(0, "user");
  if (user != options.orchestrator_user) {
    return InvalidArgument("fence: the connection to " + source.info().Label() + " is as role '" +
                           user + "' but orchestrator_user is '" + options.orchestrator_user +
                           "'; they must be the same role");
  }
  // Checked before anything changes, so that a role lacking one leaves the source untouched.
  // Without pg_read_all_stats, pg_stat_activity hides other roles' backend_type, and a fence
  // that cannot see a session would wrongly report that none is left.
  std::string missing;
  if (!r.GetBool(0, "sees_all")) missing += "GRANT pg_read_all_stats TO " + user + "; ";
  if (!r.GetBool(0, "can_alter")) {
    missing += "GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO " + user + "; ";
  }
  if (!r.GetBool(0, "can_reload")) {
    missing += "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO " + user + "; ";
  }
  if (!missing.empty()) {
    return FailedPrecondition("fence: role '" + user + "' on " + source.info().Label() +
                              " lacks what the fence needs; nothing was changed. Run: " + missing +
                              "(and GRANT pg_signal_backend so it can terminate)");
  }
  return Status::Ok();
}

// PostgreSQL 15 lets COMMIT PREPARED run under default_transaction_read_only, so with no
// connection block a client could commit a prepared transaction after the final LSN: a commit
// the target would not have (I2). Without a block, the fence refuses while any exist.
Status CheckNoPreparedWithoutBlock(const PgConnection& source, const FenceOptions& options,
                                   const ConnectionBlock& block,
                                   const PreparedTransactions& prepared, bool changed) {
  if (block.configured() || !options.prepared_need_block || prepared.empty()) {
    return Status::Ok();
  }
  return FailedPrecondition(
      "fence: " + source.info().Label() + " holds prepared transactions (" + prepared.Describe() +
      ") and this platform blocks no connections: PostgreSQL 15 lets COMMIT PREPARED run on a "
      "read-only server, so one committed after the final LSN would be lost. " +
      (changed ? std::string("The source is fenced: unfence it (a migration's rollback does); ")
               : std::string("Nothing was changed; ")) +
      "then commit or roll them back (COMMIT PREPARED / ROLLBACK PREPARED), or configure a "
      "fence_command that keeps clients out");
}

}  // namespace

Result<FenceReport> RunFence(PgConnection& source, const FenceOptions& options,
                             ConnectionBlock& block, Clock& clock) {
  // Staged: StageReadOnlyFence checked the role before traffic was held (a round trip less
  // inside the held window); the checks below and the wait for read-only still run.
  if (!options.read_only_staged) RETURN_IF_ERROR(CheckOrchestratorRole(source, options));
  ASSIGN_OR_RETURN(PreparedTransactions before, ReadPreparedTransactions(source));
  RETURN_IF_ERROR(CheckNoPreparedWithoutBlock(source, options, block, before, /*changed=*/false));
  Deadline deadline(clock, options.deadline);
  FenceReport report;
  auto lap = clock.Now();
  auto applied = [&](const std::string& layer) {
    auto now = clock.Now();
    report.layers.push_back(layer);
    report.layer_ms[layer] =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - lap).count();
    lap = now;
  };
  RETURN_IF_ERROR(ExemptSessionFromReadOnly(source));
  if (block.configured()) {
    RETURN_IF_ERROR(block.Block(options, deadline));
    applied(block.name());
  }
  // Staged (written before the pause): the reload alone puts it in force, with the connection
  // block; the wait below checks that it is, staged or not.
  RETURN_IF_ERROR(options.read_only_staged ? ReloadServerConfiguration(source)
                                           : EnableServerReadOnly(source));
  RETURN_IF_ERROR(WaitServerReadOnly(source, true, deadline, clock));
  applied("read_only");

  ASSIGN_OR_RETURN(
      TerminationOutcome outcome,
      TerminateForeignBackends(source, options.orchestrator_user, options.own_backend_pids,
                               options.held_by_router, deadline, clock));
  applied("terminate_backends");
  report.terminated_backends = outcome.terminated;
  report.held_by_router = outcome.held_idle;
  report.remaining_backends = static_cast<int>(outcome.remaining.size());
  if (!outcome.remaining.empty()) {
    return DeadlineExceeded(
        source.info().Label() + ": fence did not hold within " +
        std::to_string(options.deadline.count()) +
        " ms: " + std::to_string(outcome.remaining.size()) +
        " client backend(s) still alive: " + DescribeBackends(outcome.remaining) +
        ". Unfence the source, then terminate them by hand or give the orchestrator role the "
        "right to (a superuser's sessions need a superuser)");
  }
  ASSIGN_OR_RETURN(PreparedTransactions prepared, ReadPreparedTransactions(source));
  report.prepared_transactions = static_cast<int>(prepared.gids.size());
  // One prepared between the first look and read-only taking hold.
  RETURN_IF_ERROR(CheckNoPreparedWithoutBlock(source, options, block, prepared, /*changed=*/true));
  spdlog::info(
      "{}: fenced ({} backends terminated, {} idle ones left to the paused proxy, {} prepared "
      "transactions kept)",
      source.info().Label(), report.terminated_backends, report.held_by_router,
      report.prepared_transactions);
  return report;
}

Status StageReadOnlyFence(PgConnection& source, const FenceOptions& options) {
  RETURN_IF_ERROR(CheckOrchestratorRole(source, options));
  RETURN_IF_ERROR(ExemptSessionFromReadOnly(source));
  return StageServerReadOnly(source);
}

Status RunUnfence(PgConnection& source, const FenceOptions& options, ConnectionBlock& block,
                  Clock& clock) {
  // A fresh connection after a crash starts read-only like every other session.
  RETURN_IF_ERROR(ExemptSessionFromReadOnly(source));
  RETURN_IF_ERROR(DisableServerReadOnly(source));
  auto budget = options.deadline.count() > 0 ? options.deadline : std::chrono::milliseconds(10000);
  Deadline deadline(clock, budget);
  RETURN_IF_ERROR(WaitServerReadOnly(source, false, deadline, clock));
  if (block.configured()) RETURN_IF_ERROR(block.Unblock(options));
  spdlog::info("{}: unfenced", source.info().Label());
  return Status::Ok();
}

}  // namespace pgshift
