// Proxy metrics, declared once in PGSHIFT_PROXY_METRICS and exported from that list in
// Prometheus text format. Counters are per cluster, relaxed atomics (monotonic totals).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pgshift::proxy {

// X(id, prometheus name, type, help)
#define PGSHIFT_PROXY_METRICS(X)                                                                \
  X(kSessionsOpened, "pgshift_proxy_sessions_opened_total", "counter", "Sessions admitted")     \
  X(kSessionsActive, "pgshift_proxy_sessions_active", "gauge", "Sessions open now")             \
  X(kBytesFromClients, "pgshift_proxy_client_bytes_total", "counter", "Bytes clients sent")     \
  X(kBytesFromBackends, "pgshift_proxy_backend_bytes_total", "counter", "Bytes backends sent")  \
  X(kQueries, "pgshift_proxy_queries_total", "counter", "Query and Sync messages forwarded")    \
  X(kTransactions, "pgshift_proxy_transactions_total", "counter",                               \
    "Transaction blocks that ended (ReadyForQuery back to idle)")                               \
  X(kPauses, "pgshift_proxy_pauses_total", "counter", "Pauses acknowledged")                    \
  X(kPauseFailures, "pgshift_proxy_pause_failures_total", "counter",                            \
    "Pauses that did not drain before their deadline")                                          \
  X(kPauseMillis, "pgshift_proxy_pause_milliseconds_total", "counter",                          \
    "Time spent paused (from pause request to resume or lapse)")                                \
  X(kLeaseLapses, "pgshift_proxy_lease_lapses_total", "counter", "Pauses ended by lease lapse") \
  X(kExpiredPausesRefused, "pgshift_proxy_expired_pauses_refused_total", "counter",             \
    "Pause requests read after their not_after (a proxy frozen or slow), held nothing")         \
  X(kFenceWriteThroughs, "pgshift_proxy_fence_write_throughs_total", "counter",                 \
    "Sessions that turned read-only off on their backend once a resume confirmed the route")    \
  X(kSwitches, "pgshift_proxy_switches_total", "counter", "Route switches")                     \
  X(kSessionsMoved, "pgshift_proxy_sessions_moved_total", "counter",                            \
    "Sessions carried to a new backend by a switch")                                            \
  X(kStandbyLinksUsed, "pgshift_proxy_standby_links_used_total", "counter",                     \
    "Switches that moved a session onto a connection opened before the pause")                  \
  X(kSessionsEndedOnSwitch, "pgshift_proxy_sessions_ended_on_switch_total", "counter",          \
    "Sessions ended because their state could not be carried")                                  \
  X(kAuthRejected, "pgshift_proxy_auth_rejected_total", "counter",                              \
    "Clients refused by admission (TLS, certificate, identity, database, role, replication)")   \
  X(kProtocolErrors, "pgshift_proxy_protocol_errors_total", "counter",                          \
    "Sessions closed for malformed protocol input")                                             \
  X(kBackendErrors, "pgshift_proxy_backend_errors_total", "counter",                            \
    "Backend connections or logins that failed")                                                \
  X(kCancels, "pgshift_proxy_cancels_total", "counter", "Cancel requests forwarded")            \
  X(kReplicationSessionsOpened, "pgshift_proxy_replication_sessions_opened_total", "counter",   \
    "Logical replication sessions admitted")                                                    \
  X(kReplicationSessionsActive, "pgshift_proxy_replication_sessions_active", "gauge",           \
    "Logical replication sessions open now (they stay on their server through a switch)")       \
  X(kReplicationRefused, "pgshift_proxy_replication_refused_total", "counter",                  \
    "Replication connections refused (physical, invalid value, identity without replication)")  \
  X(kReplicationMessagesRefused, "pgshift_proxy_replication_messages_refused_total", "counter", \
    "Replication sessions ended for a message other than a replication command")                \
  X(kTlsHandshakeFailures, "pgshift_proxy_tls_handshake_failures_total", "counter",             \
    "Client TLS handshakes that failed or were abandoned")                                      \
  X(kStartupTimeouts, "pgshift_proxy_startup_timeouts_total", "counter",                        \
    "Clients that did not complete their startup in time")                                      \
  X(kCancelKeyFailures, "pgshift_proxy_cancel_key_failures_total", "counter",                   \
    "Logins failed because no cancel key could be drawn (random source failure)")               \
  X(kSessionsOverLimit, "pgshift_proxy_sessions_over_limit_total", "counter",                   \
    "Sessions ended for passing a per-session limit (prepared statements, SETs)")               \
  X(kClientConnectionsRefused, "pgshift_proxy_client_connections_refused_total", "counter",     \
    "Client connections refused at accept (max_client_connections, "                            \
    "max_pending_handshakes_per_address)")                                                      \
  X(kAcceptBackoffs, "pgshift_proxy_accept_backoffs_total", "counter",                          \
    "Times a worker stopped accepting for a moment for want of file descriptors")               \
  X(kPoolIdleBackends, "pgshift_proxy_pool_idle_backends", "gauge",                             \
    "Idle, reset backend connections the pool holds for new sessions")                          \
  X(kPoolHits, "pgshift_proxy_pool_hits_total", "counter",                                      \
    "Sessions handed a pooled backend instead of a new login")                                  \
  X(kPoolMisses, "pgshift_proxy_pool_misses_total", "counter",                                  \
    "Sessions that found no pooled backend to take (then a new login)")                         \
  X(kPoolResets, "pgshift_proxy_pool_resets_total", "counter",                                  \
    "Backends reset (DISCARD ALL) after their session, to go back to the pool")                 \
  X(kPoolDiscards, "pgshift_proxy_pool_discards_total", "counter",                              \
    "Backends closed instead of pooled (state a reset cannot clear, failed reset, pool full, "  \
    "old route, pause, idle timeout, found dead)")

enum class Metric {
#define PGSHIFT_METRIC_ENUM(id, name, type, help) id,
  PGSHIFT_PROXY_METRICS(PGSHIFT_METRIC_ENUM)
#undef PGSHIFT_METRIC_ENUM
      kCount
};

struct ClusterMetrics {
  std::array<std::atomic<int64_t>, size_t(Metric::kCount)> values{};
  void Add(Metric m, int64_t n = 1) { values[size_t(m)].fetch_add(n, std::memory_order_relaxed); }
  int64_t Get(Metric m) const { return values[size_t(m)].load(std::memory_order_relaxed); }
};

// Metrics of every cluster; "" holds those not yet tied to a cluster (refused clients).
class MetricsRegistry {
 public:
  ClusterMetrics& For(const std::string& cluster);
  std::string PrometheusText() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<ClusterMetrics>> by_cluster_;
};

}  // namespace pgshift::proxy
