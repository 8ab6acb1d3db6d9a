// RecreateSlots: equivalent logical slots on the promoted target, created before any
// application write reaches it so that consumers miss nothing written there.
#include <map>

#include "cdc/slot_handover.h"
#include "pg/prepared_transactions.h"

namespace pgshift {
namespace {

struct ExistingSlot {
  std::string type, plugin, database;
};

Result<std::map<std::string, ExistingSlot>> ReadExisting(PgConnection& c) {
  ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT slot_name, slot_type, plugin, database "
                                       "FROM pg_replication_slots WHERE NOT temporary"));
  std::map<std::string, ExistingSlot> out;
  for (int i = 0; i < r.rows(); ++i) {
    out[r.Get(i, "slot_name")] = {r.Get(i, "slot_type"), r.GetOpt(i, "plugin").value_or(""),
                                  r.GetOpt(i, "database").value_or("")};
  }
  return out;
}

// Ok when `want` can be kept as it is (true) or created (false).
Result<bool> AlreadyThere(const std::map<std::string, ExistingSlot>& existing,
                          const LogicalSlot& want, const std::string& where) {
  auto it = existing.find(want.name);
  if (it == existing.end()) return false;
  const ExistingSlot& e = it->second;
  if (e.type == "logical" && e.plugin == want.plugin && e.database == want.database) return true;
  return FailedPrecondition(
      where + ": a slot named '" + want.name + "' already exists as " + e.type + " slot" +
      (e.type == "logical" ? " (plugin " + e.plugin + ", database " + e.database + ")" : "") +
      ", but the source's is logical (plugin " + want.plugin + ", database " + want.database +
      "); drop it on the target (pgshift slots drop) or rename it");
}

}  // namespace

Result<std::vector<LogicalSlot>> RecreateSlots(const TargetConnections& target,
                                               const std::vector<LogicalSlot>& slots) {
  for (const LogicalSlot& s : slots) RETURN_IF_ERROR(ValidateSlotName(s.name));
  ASSIGN_OR_RETURN(PgConnection * admin, target(""));
  const std::string where = admin->info().Label();
  ASSIGN_OR_RETURN(std::string recovery, admin->QueryValue("SELECT pg_is_in_recovery()"));
  if (recovery == "t") {
    return FailedPrecondition(where +
                              ": still in recovery; logical slots can only be created "
                              "once it is promoted");
  }
  // Check every slot before creating any, so a conflict changes nothing.
  ASSIGN_OR_RETURN(auto existing, ReadExisting(*admin));
  std::vector<const LogicalSlot*> to_create;
  for (const LogicalSlot& s : slots) {
    ASSIGN_OR_RETURN(bool there, AlreadyThere(existing, s, where));
    if (!there) to_create.push_back(&s);
  }
  for (const LogicalSlot* s : to_create) {
    ASSIGN_OR_RETURN(PgConnection * conn, target(s->database));
    Status st = conn->Exec("SELECT pg_create_logical_replication_slot($1, $2, false, $3)",
                           {s->name, s->plugin, s->two_phase ? "true" : "false"});
    if (!st.ok()) {
      // Another attempt (a restarted orchestrator) may have created it meanwhile.
      ASSIGN_OR_RETURN(auto now, ReadExisting(*admin));
      ASSIGN_OR_RETURN(bool there, AlreadyThere(now, *s, where));
      if (!there) return st.Context("creating logical slot '" + s->name + "'");
    }
  }
  ASSIGN_OR_RETURN(std::vector<LogicalSlot> all, ListLogicalSlots(*admin));
  std::vector<LogicalSlot> out;
  for (const LogicalSlot& s : slots) {
    for (const LogicalSlot& a : all) {
      if (a.name == s.name) out.push_back(a);
    }
  }
  return out;
}

Result<std::vector<LogicalSlot>> RecreateSlots(const ConnInfo& target_any_db,
                                               const std::vector<LogicalSlot>& slots) {
  std::map<std::string, PgConnection> open;
  return RecreateSlots(
      [&](const std::string& dbname) -> Result<PgConnection*> {
        auto it = open.find(dbname);
        if (it == open.end()) {
          ConnInfo info = dbname.empty() ? target_any_db : target_any_db.With("dbname", dbname);
          ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(info));
          it = open.emplace(dbname, std::move(c)).first;
        }
        return &it->second;
      },
      slots);
}

Status CheckSlotsRecreatable(PgConnection& source, const std::vector<LogicalSlot>& slots) {
  if (slots.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(PreparedTransactions prepared, ReadPreparedTransactions(source));
  if (prepared.empty()) return Status::Ok();
  return FailedPrecondition(
      source.info().Label() + " has prepared transactions (" + prepared.Describe() + ") and " +
      std::to_string(slots.size()) +
      " logical slot(s) to recreate on the new primary: a slot cannot be created there until "
      "every prepared transaction has ended, and the traffic would be held that long. COMMIT "
      "PREPARED or ROLLBACK PREPARED them, then cut over again");
}

}  // namespace pgshift
