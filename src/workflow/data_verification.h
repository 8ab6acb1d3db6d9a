// DataVerification: per-table checksums that show the promoted target holds exactly what the
// fenced source held. The target side is read through snapshots taken on the standby once it
// has replayed the fenced final LSN (before promotion, so before any application write can
// reach it) and held open across promotion while the sums run after traffic has resumed; the
// source is fenced and therefore static. The sessions are opened before traffic is paused, so
// that taking the snapshots inside the held window costs one round trip per database.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace pgshift {

// One session per database of the target; after TakeSnapshots, a REPEATABLE READ transaction
// whose snapshot is already taken.
struct HeldSnapshot {
  std::string database;
  PgConnection connection;
  bool taken = false;
};

// Connects to every database of the target that accepts connections; takes no snapshot yet.
Result<std::vector<HeldSnapshot>> OpenSnapshotSessions(const ConnInfo& target);
// Takes the snapshot in each session, now. Works on a hot standby; the snapshot stays valid
// when the standby is promoted (its xmin is held by the session like on a primary).
Status TakeSnapshots(std::vector<HeldSnapshot>& sessions);

struct TableSum {
  int64_t rows = 0;
  std::string hash;  // sum of row hashes, as text (order-independent)
  bool operator==(const TableSum&) const = default;
};
// "db.schema.table" -> sum, for every permanent user table of the database `c` is in.
Result<std::map<std::string, TableSum>> SumTables(PgConnection& c);

struct VerificationResult {
  int tables_compared = 0;
  int64_t rows_compared = 0;
  std::vector<std::string> mismatches;  // "db.schema.table: source 10 rows / target 9 rows"
  // Non-empty: a snapshot could not be read ("db: why"), so nothing was compared. Its session
  // ended (the target restarted, the connection broke) and the snapshot with it: no later try
  // can read it either.
  std::string snapshot_lost;
  nlohmann::json ToJson() const;
};

// Compares the fenced source (connected per database through `source`) with the snapshots.
// A snapshot that cannot be read is reported in snapshot_lost, not as an error; the source's
// errors are errors (kUnavailable is worth a retry: the snapshots are still held).
Result<VerificationResult> CompareWithSnapshots(const ConnInfo& source,
                                                std::vector<HeldSnapshot>& snapshots);

}  // namespace pgshift
