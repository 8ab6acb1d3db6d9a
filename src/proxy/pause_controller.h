// PauseController: the cutover verbs of the admin API, per cluster. A pause holds new work
// and waits for every session to be idle; it is a lease that lapses by itself; a resume
// (or a lapse, or a failed drain) releases it. Each pause has a generation number so that
// a pause racing a resume sees the release and returns instead of wedging.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
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
};

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

  // Blocks until drained or the deadline. kNotFound for an unknown cluster.
  Result<PauseOutcome> Pause(const std::string& cluster, std::chrono::milliseconds deadline,
                             std::chrono::milliseconds lease);
  // kFailedPrecondition when the cluster is not paused (the lease already lapsed).
  Status Renew(const std::string& cluster, std::chrono::milliseconds lease);
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
