// LogicalSlot: what pgshift must know about a CDC consumer's logical replication slot to
// recreate an equivalent one on the target (name, plugin, database, two_phase) and to tell
// whether its consumer has caught up (confirmed_flush_lsn, active consumer).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"
#include "pg/lsn.h"

namespace pgshift {

struct LogicalSlot {
  std::string name, plugin, database;
  bool two_phase = false, temporary = false, active = false;
  std::optional<int> active_pid;
  Lsn confirmed_flush_lsn, restart_lsn;

  // LSNs as "X/Y" strings; active_pid null when no consumer is connected.
  nlohmann::json ToJson() const;
  // kInvalidArgument naming the field when `j` is not what ToJson writes.
  static Result<LogicalSlot> FromJson(const nlohmann::json& j);
};

// The server's non-temporary logical slots, ordered by name. Temporary slots belong to a
// session and vanish with it, so they cannot be handed over; they are left out.
Result<std::vector<LogicalSlot>> ListLogicalSlots(PgConnection& c);

// Slot names are restricted by PostgreSQL to [a-z0-9_]{1,63}; kInvalidArgument otherwise,
// so names are safe to show and to pass around before any server sees them.
Status ValidateSlotName(const std::string& name);

}  // namespace pgshift
