// PostgresStore's admission under the fleet lock: one transaction that first takes a
// transaction-scoped advisory lock on the schema ("pgad" and the schema name's hash), then
// reads the fleet (READ COMMITTED: each statement sees every admission committed before the
// lock was granted), asks the decision, and merges its patch into the candidate's control row.
// Servers of one fleet admit one after the other; the lock ends with the transaction, also
// when a server dies inside it (its session ends, or idle_in_transaction_session_timeout ends
// it).
#include "store/postgres_store.h"

namespace pgshift {
namespace {

constexpr int64_t kAdmissionLockKey = 0x70676164;

}  // namespace

Result<std::optional<nlohmann::json>> PostgresStore::AdmitUnderFleetLock(
    const std::string& migration, const AdmissionDecision& decide, double now) {
  std::lock_guard<std::mutex> l(mu_);
  std::optional<nlohmann::json> out;
  RETURN_IF_ERROR(InTxnLocked([&](PgConnection& c) -> Status {
    RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
                           {std::to_string(kAdmissionLockKey), schema_}));
    ASSIGN_OR_RETURN(PgResult r,
                     c.Query("SELECT m.name, m.phase, m.rollback_requested, c.control FROM " +
                                 T("migrations") + " m LEFT JOIN " + T("migration_controls") +
                                 " c ON c.migration = m.name ORDER BY m.created_at, m.seq",
                             {}));
    std::vector<FleetMember> fleet;
    fleet.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) {
      FleetMember m;
      m.name = r.Get(i, "name");
      const int64_t phase = r.GetInt(i, "phase");
      if (!ParsePhaseValue(static_cast<int>(phase), &m.phase)) return UnknownPhase(m.name, phase);
      m.rollback_requested = r.GetBool(i, "rollback_requested");
      m.control = StoredJsonObject(r.Get(i, "control"));
      fleet.push_back(std::move(m));
    }
    nlohmann::json patch = decide(fleet);
    if (patch.is_null()) return Status::Ok();  // refused: the transaction writes nothing
    ASSIGN_OR_RETURN(nlohmann::json control, MergeControlOn(c, migration, patch, now));
    out = std::move(control);
    return Status::Ok();
  }));
  return out;
}

}  // namespace pgshift
