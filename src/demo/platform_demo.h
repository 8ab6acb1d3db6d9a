// The platform demo (`pgshift demo --serve`): what a newcomer opens to see pgshift as a
// self-service platform. Three local clusters of two teams (payments: orders and ledger;
// search: catalog), each under pgbench load through its own in-process proxy (mutual TLS,
// as in the plain demo), are registered with a `pgshift server` and migrated through its API:
// orders and catalog complete on their own (auto cutover), ledger is rolled back at the
// cutover gate. The page's address and a token for each team and for the platform are printed
// once the migrations are under way; the demo then keeps serving until asked to stop, and
// stops everything it started.
#pragma once

#include <atomic>
#include <chrono>
#include <ostream>
#include <string>

#include "common/status.h"
#include "workflow/progress.h"

namespace pgshift::demo {

struct PlatformDemoOptions {
  std::string binary;  // the pgshift binary, run as `pgshift server`
  std::string dir;     // work directory; a fresh temporary one when empty
  bool keep = false;   // leave servers running and files in place
  std::string listen = "127.0.0.1:0";
  int pgbench_scale = 1;
  int pgbench_clients = 2;
  int check_window_s = 3;
  // How long the migrations may take before the demo says so (it keeps serving).
  std::chrono::seconds migrations_timeout{600};
};

// Lines on `out` (stable, for people and for the test that reads them):
//   "  page: http://HOST:PORT/"
//   "  token platform: pgs_..."  (and one per team)
//   "migration NAME: PHASE"      (as each ends)
//   "serving until interrupted"
// Progress (building clusters) goes to `progress`. Returns when `stop` becomes true, after
// stopping the server, the load, the proxies and the clusters; an error when the scene
// cannot be built or the server does not stop cleanly.
Status RunPlatformDemo(const PlatformDemoOptions& options, std::ostream& out,
                       ProgressSink& progress, const std::atomic<bool>& stop);

}  // namespace pgshift::demo
