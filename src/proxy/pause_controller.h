// PauseController: the cutover verbs of the admin API, per cluster. A pause holds new work
// and waits for every session to be idle; it is a lease that lapses by itself; a resume
// (or a lapse, or a failed drain) releases it. Each pause has a generation number so that
// a pause racing a resume sees the release and returns instead of wedging.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "proxy/proxy_context.h"

namespace pgshift::proxy {

struct PauseOutcome {
  bool paused = false;
  int sessions = 0;  // sessions of the cluster when the pause took hold
  // Server process ids of the held sessions' backends on the current route: idle, and left
  // open through the fence (the orchestrator exempts them from termination) until the
  // sessions have moved and traffic resumed (Session::CloseRetiredBackend).
  std::vector<int> held_backend_pids;
  std::vector<uint64_t> not_drained;  // sessions still busy when the deadline passed
  std::string reason;                 // why the pause did not take hold
  bool expired = false;               // refused: read after the request's not_after
};

// How far past a pause request's `not_after` (the sender's wall clock) this proxy's wall clock
// may be before it refuses the request as stale: the skew tolerated between the engine's host
// and the proxy's. Below the engine's own margin (it waits 2 s past the pause deadline for the
// answer), so a pause the engine has given up on is never taken.
inline constexpr std::chrono::milliseconds kPauseNotAfterSkew{500};

// The drain budget of a pause request read at `now_unix_ms`: `deadline`, cut to what is left
// until `not_after_unix_ms` + kPauseNotAfterSkew; nullopt when nothing is left (the request is
// stale: a proxy that was frozen, or a request that waited in a socket). Without a not_after
// (an older engine) the deadline as given.
std::optional<std::chrono::milliseconds> PauseDrainBudget(std::chrono::milliseconds deadline,
                                                          std::optional<int64_t> not_after_unix_ms,
                                                          int64_t now_unix_ms);

struct SwitchOutcome {
  uint64_t version = 0;
  int moved = 0;    // sessions now on the new route
  int pending = 0;  // sessions still in a transaction on the old one (they move when idle)
  int staying = 0;  // replication sessions, on the old server until it ends them
};

struct PrepareOutcome {
  int sessions = 0;  // sessions of the cluster (replication sessions excluded)
  int open = 0;      // with a standby link open to the endpoint
  int failed = 0;    // whose standby login failed (they log in at the switch instead)
};

class PauseController {
 public:
  explicit PauseController(ProxyContext& ctx);
  ~PauseController();

  // Blocks until drained or the deadline (cut to the request's `not_after_unix_ms`, see
  // PauseDrainBudget). A request read after its not_after holds nothing: not paused, expired.
  // kNotFound for an unknown cluster.
  Result<PauseOutcome> Pause(const std::string& cluster, std::chrono::milliseconds deadline,
                             std::chrono::milliseconds lease,
                             std::optional<int64_t> not_after_unix_ms = std::nullopt);
  // kFailedPrecondition when the cluster is not paused (the lease already lapsed).
  Status Renew(const std::string& cluster, std::chrono::milliseconds lease);
  // Releases the pause and confirms the cluster's current route (RouteStore::Confirm): the
  // only way a switched route becomes one sessions write through the target fence on. A
  // cluster whose pause lapsed (or that was never paused) is confirmed too; OK either way.
  Status Resume(const std::string& cluster);
  // Swaps the route (kAborted if version is not newer) and waits briefly for idle
  // sessions to move.
  Result<SwitchOutcome> Switch(const std::string& cluster, const std::string& host, int port,
                               uint64_t version);
  // Opens a standby link to host:port for every session of the cluster (Session::
  // PrepareStandby) and waits until each is open or failed, or `deadline`. Changes no route.
  Result<PrepareOutcome> Prepare(const std::string& cluster, const std::string& host, int port,
                                 std::chrono::milliseconds deadline);

 private:
  void Release(ClusterControl& c);  // under c.mu
  PauseOutcome HeldOutcome(const ClusterControl& c) const;
  void WatchLeases();

  ProxyContext& ctx_;
  std::atomic<bool> stopping_{false};
  // The watchdog sleeps until woken by a pause (or stopping), and polls only while some
  // cluster is paused: without a pause it costs no wake-ups on the query path's cores.
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  uint64_t pauses_started_ = 0;  // under watch_mu_: a wake-up the watchdog cannot miss
  std::thread lease_thread_;
};

}  // namespace pgshift::proxy
