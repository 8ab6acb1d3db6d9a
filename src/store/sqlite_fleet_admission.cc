// SqliteStore's admission under the fleet lock: BEGIN IMMEDIATE takes the file's write lock
// before the fleet is read, so a second process on the same file (or a second handle) decides
// only after the first committed, and sees its admission.
#include <sqlite3.h>

#include "store/sqlite_statement.h"
#include "store/sqlite_store.h"

namespace pgshift {

namespace {

using sqlite::Stmt;
using sqlite::Txn;

}  // namespace

Result<std::optional<nlohmann::json>> SqliteStore::AdmitUnderFleetLock(
    const std::string& migration, const AdmissionDecision& decide, double now) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  std::vector<FleetMember> fleet;
  {
    Stmt s(db_,
           "SELECT m.name, m.phase, m.rollback_requested, c.control FROM migrations m "
           "LEFT JOIN migration_controls c ON c.migration = m.name "
           "ORDER BY m.created_at, m.rowid");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      FleetMember m;
      m.name = s.Text(0);
      if (!ParsePhaseValue(static_cast<int>(s.Int(1)), &m.phase)) {
        return UnknownPhase(m.name, s.Int(1));
      }
      m.rollback_requested = s.Int(2) != 0;
      m.control = StoredJsonObject(s.Text(3));
      fleet.push_back(std::move(m));
    }
    if (rc != SQLITE_DONE) return Unavailable(s.Error());
  }
  nlohmann::json patch = decide(fleet);
  if (patch.is_null()) return std::optional<nlohmann::json>();  // Txn rolls back: nothing written
  ASSIGN_OR_RETURN(nlohmann::json control, MergeControlLocked(migration, patch, now));
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return std::optional<nlohmann::json>(control);
}

}  // namespace pgshift
