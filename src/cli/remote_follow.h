// Following a migration that a pgshift server drives, as `migrate run` follows one it drives
// itself: the same progress display (phase, lag, bytes, ETA on a terminal; JSON lines with
// --json), fed by polling GET /v1/migrations/{name}, until the migration ends or (when asked)
// reaches the cutover gate.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "server_client/server_client.h"
#include "workflow/progress.h"

namespace pgshift::cli {

struct FollowOptions {
  // At ready_for_cutover with no cutover requested: keep following (true) or return.
  bool wait_at_gate = true;
  std::chrono::milliseconds poll_interval{500};
  // How long the server may stay unreachable (a restart) before following gives up.
  std::chrono::milliseconds unreachable_limit{30000};
  // Events already shown (the count before the request that set the migration going).
  size_t events_seen = 0;
  // At ready_for_cutover with no cutover requested: request it (POST .../cutover), as the
  // local `run --auto-cutover` and `cutover` do for a migration still on its way to the gate.
  bool cutover_at_gate = false;
};

// How a followed migration ended: its last JSON, and the outcome as `migrate run` judges it
// (ok; kFailedPrecondition when it ended failed or rolled back without being asked to).
struct FollowReport {
  nlohmann::json migration;
  Status outcome;
};

// An error when the migration cannot be read (unknown, refused, server gone too long).
Result<FollowReport> FollowMigration(const ServerClient& client, const std::string& name,
                                     const FollowOptions& options, ProgressSink& progress);

// The progress line a migration's JSON gives (phase, state, lag, bytes, ETA when known).
ProgressUpdate ProgressFromMigrationJson(const nlohmann::json& migration);

}  // namespace pgshift::cli
