// What every MigrationStore shares: the lease grant rule and the error messages.
#include "store/migration_store.h"

namespace pgshift {

LeaseRow DecideRunnerGrant(const LeaseRow& cur, const std::string& owner,
                           std::chrono::milliseconds ttl, double now, const std::string& dead_owner,
                           bool* granted) {
  const double expires = now + std::chrono::duration<double>(ttl).count();
  *granted = true;
  // Our own live lease: extended, same token (a second acquisition by one runner is not a
  // takeover, and its writes in flight stay valid).
  if (!cur.owner.empty() && cur.owner == owner && cur.expires_at > now) {
    return {owner, cur.token, expires};
  }
  const bool free = cur.owner.empty() || cur.expires_at <= now ||
                    (!dead_owner.empty() && cur.owner == dead_owner);
  if (!free) {
    *granted = false;
    return cur;
  }
  return {owner, cur.token + 1, expires};
}

nlohmann::json StoredJsonObject(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

Status LeaseLost(const std::string& name, const RunnerLease& lease) {
  return Aborted("migration '" + name + "': runner lease lost (token " +
                 std::to_string(lease.token) + " of " + lease.owner +
                 " is no longer current: another runner took the migration over); this runner "
                 "stops");
}

Status UnknownPhase(const std::string& name, int64_t value) {
  return FailedPrecondition("migration '" + name + "' has unknown phase value " +
                            std::to_string(value) + "; is this store from a newer pgshift?");
}

Status MovedOn(const std::string& name, Phase actual, Phase expected) {
  return Aborted("migration '" + name + "' moved on (phase " + std::string(PhaseName(actual)) +
                 ", expected " + std::string(PhaseName(expected)) + "); re-read and re-plan");
}

Status CheckTransition(const std::string& name, const MigrationRecord& current, Phase from,
                       Phase to) {
  if (current.phase != from) return MovedOn(name, current.phase, from);
  if (to == Phase::kCompleted && current.rollback_requested) {
    return Aborted("migration '" + name + "': a rollback was requested while it " +
                   std::string(PhaseName(from)) +
                   "; it does not complete, the runner rolls it back");
  }
  return Status::Ok();
}

Status CheckRollbackRequest(const std::string& name, const MigrationRecord& current) {
  if (current.phase == Phase::kCompleted) {
    return FailedPrecondition("migration '" + name +
                              "' already completed: its source was released, so there is "
                              "nothing to roll back to; start a migration back instead");
  }
  return Status::Ok();
}

}  // namespace pgshift
