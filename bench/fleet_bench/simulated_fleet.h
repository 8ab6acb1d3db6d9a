// SimulatedFleet: the control plane's own cost at fleet sizes no machine here can run for real.
// Migrations go through the real store (PostgresStore) and the real engine (turns, leases,
// transitions, events, facts), with the database work replaced by a recorded timing model:
// EngineSeams' steps seam sleeps each phase's measured duration (scaled down) and moves to the
// next phase, failing with the measured rate. Reports the process's CPU milliseconds and the
// store writes per migration, which should stay flat as the fleet grows.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "migration/phase.h"

namespace pgshift::bench {

struct TimingModel {
  std::map<Phase, double> phase_seconds;  // measured in the real run
  double failure_rate = 0;                // per migration, measured in the real run
  double time_scale = 0.001;              // simulated seconds per measured second
  nlohmann::json ToJson() const;
};

struct SimulationOptions {
  std::string store_conninfo;  // a PostgreSQL store
  std::string schema;          // fresh per run
  int migrations = 400;
  int workers = 32;  // migrations in flight at once
  int engines = 4;   // engines (each with its own store connection) sharing the workers
};

// {"migrations","wall_s","cpu_ms_per_migration","store_writes_per_migration","completed",
//  "failed"}
Result<nlohmann::json> RunSimulatedFleet(const TimingModel& model,
                                         const SimulationOptions& options);

}  // namespace pgshift::bench
