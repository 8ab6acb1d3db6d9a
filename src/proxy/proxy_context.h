// ProxyContext: everything the event loops and the admin side share, built once at start.
// Per-cluster controls are fixed by the configuration; routes change only by swapping the
// RouteStore's table.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/backend_pool.h"
#include "proxy/cancel_registry.h"
#include "proxy/cluster_control.h"
#include "proxy/metrics.h"
#include "proxy/proxy_config.h"
#include "proxy/route_table.h"
#include "proxy/session_registry.h"
#include "proxy/switch_lanes.h"
#include "proxy/task_pool.h"
#include "proxy/tls_context.h"

namespace pgshift::proxy {

class Session;
class Worker;

struct ProxyContext {
  explicit ProxyContext(ProxyConfig c);

  ProxyConfig config;
  RouteStore routes;
  MetricsRegistry metrics;
  std::map<std::string, std::unique_ptr<ClusterControl>> clusters;
  SessionRegistry sessions;
  CancelRegistry cancels;
  SslCtxPtr client_tls{nullptr, &SSL_CTX_free};
  SslCtxPtr backend_tls{nullptr, &SSL_CTX_free};
  // Idle backends between client sessions. Declared before `pool`: the reset tasks still
  // running at shutdown give backends back to it.
  BackendPool backend_pool;
  // In front of `pool` for the moves of a switch. Declared before it: its moves still running
  // at shutdown end in it.
  std::unique_ptr<SwitchLanes> switch_lanes;
  std::unique_ptr<TaskPool> pool;  // blocking backend logins, resets and cancels
  std::vector<Worker*> workers;
  std::atomic<uint64_t> next_session_id{1};

  ClusterControl* Cluster(const std::string& name) const;
  // Runs `fn` on every session of `cluster`, each on its own event loop, soon. A session
  // `fn` ends is not visited twice and does not stop the others.
  void ForEachSessionOf(const std::string& cluster, std::function<void(Session&)> fn);
  // Asks every event loop to re-examine the sessions of `cluster` (after a resume, a lapse
  // or a switch).
  void KickCluster(const std::string& cluster);
};

}  // namespace pgshift::proxy
