// Cutover gates: what stands between a migration and its cutover right now, judged from what
// the migration recorded (its phase, the validation's checks) and, when one is known, its latest
// lag reading. The plan shows these as its red gates and the arming ticker judges them again at
// the moment it would cut over, so both say the same thing for the same record. Pure.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "migration/migration_facts.h"
#include "migration/migration_spec.h"
#include "migration/phase.h"

namespace pgshift {

// One gate that is red: `gate` names it ("phase", "checks", "check:<name>", "replication_lag"),
// `reason` says why, in words an operator can act on.
struct RedGate {
  std::string gate;
  std::string reason;
  bool operator==(const RedGate&) const = default;
  nlohmann::json ToJson() const { return {{"gate", gate}, {"reason", reason}}; }
};

// The gates red now. Empty means a cutover may start: the phase is kReadyForCutover, the
// recorded checks have no failure, and the latest lag (when given) is within the spec's
// max_lag_bytes. A check that only warns is not a red gate.
std::vector<RedGate> RedCutoverGates(Phase phase, const MigrationSpec& spec,
                                     const MigrationFacts& facts,
                                     std::optional<uint64_t> latest_lag_bytes);

// "check:replication_lag, phase": the gates' names, for notes and messages.
std::string DescribeRedGates(const std::vector<RedGate>& gates);

}  // namespace pgshift
