// DataVerification: per-table checksums that show the promoted target holds exactly what the
// fenced source held. The target side is read through snapshots taken right after promotion,
// before any application write can reach it, and held open while the sums run after traffic
// has resumed; the source is fenced and therefore static.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace pgshift {

// One REPEATABLE READ transaction per database of the target, its snapshot already taken.
struct HeldSnapshot {
  std::string database;
  PgConnection connection;
};

// Opens a held snapshot in every database that accepts connections.
Result<std::vector<HeldSnapshot>> HoldSnapshots(const ConnInfo& target);

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
  nlohmann::json ToJson() const;
};

// Compares the fenced source (connected per database through `source`) with the snapshots.
Result<VerificationResult> CompareWithSnapshots(const ConnInfo& source,
                                                std::vector<HeldSnapshot>& snapshots);

}  // namespace pgshift
