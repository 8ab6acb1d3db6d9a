// ServerMetrics: the server's counters, rendered as Prometheus text for GET /metrics:
// requests by status class, refused requests, drivers running, webhook deliveries and
// failures (counted by the webhook dispatcher), audit write failures.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace pgshift::server {

struct ServerMetrics {
  std::atomic<uint64_t> requests_2xx{0};
  std::atomic<uint64_t> requests_4xx{0};
  std::atomic<uint64_t> requests_5xx{0};
  std::atomic<uint64_t> unauthenticated{0};
  std::atomic<uint64_t> audit_write_failures{0};
  std::atomic<uint64_t> webhook_deliveries{0};
  std::atomic<uint64_t> webhook_failures{0};
  std::atomic<int64_t> drivers_running{0};
  std::atomic<uint64_t> driver_runs_failed{0};
  std::atomic<int64_t> streams_open{0};

  void CountResponse(int status);
  std::string PrometheusText() const;
};

}  // namespace pgshift::server
