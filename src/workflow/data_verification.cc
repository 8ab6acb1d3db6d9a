// Checksums of tables on the source and through the target's held snapshots.
#include "workflow/data_verification.h"

namespace pgshift {
namespace {

constexpr const char* kTables = R"sql(
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence = 'p'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1, 2)sql";

}  // namespace

Result<std::vector<HeldSnapshot>> OpenSnapshotSessions(const ConnInfo& target) {
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(target));
  ASSIGN_OR_RETURN(PgResult dbs,
                   c.Query("SELECT datname FROM pg_database WHERE datallowconn AND NOT "
                           "datistemplate ORDER BY 1"));
  std::vector<HeldSnapshot> out;
  for (int i = 0; i < dbs.rows(); ++i) {
    std::string db = dbs.Get(i, 0);
    ASSIGN_OR_RETURN(PgConnection d, PgConnection::Connect(target.With("dbname", db)));
    out.push_back({db, std::move(d)});
  }
  return out;
}

Status TakeSnapshots(std::vector<HeldSnapshot>& sessions) {
  for (auto& s : sessions) {
    if (s.taken) continue;
    // The snapshot is taken by the first query, now, not when the sums run.
    RETURN_IF_ERROR(s.connection.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1"));
    s.taken = true;
  }
  return Status::Ok();
}

Result<std::map<std::string, TableSum>> SumTables(PgConnection& c) {
  ASSIGN_OR_RETURN(std::string db, c.QueryValue("SELECT current_database()"));
  ASSIGN_OR_RETURN(PgResult tables, c.Query(kTables));
  std::map<std::string, TableSum> out;
  for (int i = 0; i < tables.rows(); ++i) {
    std::string rel = QuoteIdent(c, tables.Get(i, 0)) + "." + QuoteIdent(c, tables.Get(i, 1));
    ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT count(*), coalesce(sum(hashtextextended(t::text, "
                                         "0)), 0)::text FROM ONLY " +
                                         rel + " t"));
    out[db + "." + tables.Get(i, 0) + "." + tables.Get(i, 1)] = {std::stoll(r.Get(0, 0)),
                                                                 r.Get(0, 1)};
  }
  return out;
}

nlohmann::json VerificationResult::ToJson() const {
  return {{"tables_compared", tables_compared},
          {"rows_compared", rows_compared},
          {"mismatches", mismatches}};
}

Result<VerificationResult> CompareWithSnapshots(const ConnInfo& source,
                                                std::vector<HeldSnapshot>& snapshots) {
  VerificationResult v;
  for (auto& snap : snapshots) {
    if (!snap.taken)
      return FailedPrecondition("the snapshot of " + snap.database + " was not taken");
    auto target_sums = SumTables(snap.connection);
    if (!target_sums.ok()) {
      return VerificationResult{.snapshot_lost =
                                    snap.database + ": " + target_sums.status().message()};
    }
    ASSIGN_OR_RETURN(PgConnection s, PgConnection::Connect(source.With("dbname", snap.database)));
    ASSIGN_OR_RETURN(auto source_sums, SumTables(s));
    for (const auto& [table, sum] : source_sums) {
      auto it = target_sums->find(table);
      if (it == target_sums->end()) {
        v.mismatches.push_back(table + ": missing on the target");
        continue;
      }
      ++v.tables_compared;
      v.rows_compared += sum.rows;
      if (!(it->second == sum)) {
        v.mismatches.push_back(table + ": source " + std::to_string(sum.rows) + " rows (hash " +
                               sum.hash + ") / target " + std::to_string(it->second.rows) +
                               " rows (hash " + it->second.hash + ")");
      }
    }
    (void)snap.connection.Exec("COMMIT");
  }
  return v;
}

}  // namespace pgshift
