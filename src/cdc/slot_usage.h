// SlotUsage: every replication slot on a server with the WAL it holds back, for operators
// deciding which slots are stale (pgshift slots list / drop).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

struct SlotUsage {
  std::string name, type, plugin, database;  // plugin/database empty for physical slots
  bool active = false, temporary = false;
  std::optional<int> active_pid;
  std::string wal_status;  // reserved / extended / unreserved / lost ("" if unknown)
  std::optional<int64_t> retained_wal_bytes;  // from restart_lsn to the current WAL position
  std::string retained_wal_pretty;            // pg_size_pretty of the above

  nlohmann::json ToJson() const;
};

// All slots, ordered by name. On a standby, retained WAL is measured to the replay position.
Result<std::vector<SlotUsage>> ListSlotUsage(PgConnection& c);

}  // namespace pgshift
