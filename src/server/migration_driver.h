// MigrationDriver: how the server drives the migrations it started (issue 13): a claim loop
// on a small pool of worker threads (claim_loop.h) rather than a thread per migration. About
// once a second it reads the fleet from the store, admits queued migrations through the
// limits ([server] max_running...), and runs engine turns for the admitted ones whose runner
// lease is free, expired or its own; cutovers go through max_cutovers_at_once, the team's
// cutover windows and the freezes. Progress and transitions go to LiveStatus and to every
// MigrationObserver; campaigns are ticked by the same loop.
//
// Stop() lets each worker finish its current turn, then releases every runner lease, so
// another server or a restart takes over at once. ResumeStarted() starts the loop, which
// drives every migration the server had started (control "started": true) that is not
// terminal: what a restart does.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/claim_loop.h"
#include "server/server_context.h"

namespace pgshift::server {

class MigrationDriver {
 public:
  explicit MigrationDriver(ServerContext& ctx, EngineSeams seams = {});
  ~MigrationDriver();  // Stop()
  MigrationDriver(const MigrationDriver&) = delete;
  MigrationDriver& operator=(const MigrationDriver&) = delete;

  // Asks the loop to look at `name` now (a start, cutover or rollback request); a failed
  // migration the operator started again gets turns again. kFailedPrecondition once stopping.
  Status Drive(const std::string& name);
  // Whether this server drives `name` now (holds its lease or has a turn queued).
  bool Driving(const std::string& name) const;
  // Starts the loop; returns how many started, non-terminal migrations it will drive (or
  // queue) now.
  int ResumeStarted();
  // The claim loop's tick period (default 1 s): how soon this server takes over, once their
  // lease lapsed, migrations another server sharing the store no longer drives. Starts the
  // loop. (The name is the one the stopgap before the claim loop had.)
  void ClaimStartedEvery(std::chrono::milliseconds period);
  // Stops after the current turn of each migration and releases the leases.
  void Stop();

 private:
  ServerContext& ctx_;
  std::atomic<bool> stop_{false};
  ClaimLoop loop_;
};

}  // namespace pgshift::server
