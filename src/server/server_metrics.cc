// Prometheus exposition of the server's counters.
#include "server/server_metrics.h"

namespace pgshift::server {

void ServerMetrics::CountResponse(int status) {
  if (status >= 500) {
    ++requests_5xx;
  } else if (status >= 400) {
    ++requests_4xx;
  } else {
    ++requests_2xx;
  }
}

std::string ServerMetrics::PrometheusText() const {
  std::string out;
  auto counter = [&](const std::string& name, const std::string& help, uint64_t v,
                     const std::string& labels = "", bool header = true) {
    if (header) {
      out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
    }
    out += name + labels + " " + std::to_string(v) + "\n";
  };
  auto gauge = [&](const std::string& name, const std::string& help, int64_t v) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    out += name + " " + std::to_string(v) + "\n";
  };
  counter("pgshift_server_requests_total", "API requests answered, by status class",
          requests_2xx.load(), "{class=\"2xx\"}");
  counter("pgshift_server_requests_total", "", requests_4xx.load(), "{class=\"4xx\"}", false);
  counter("pgshift_server_requests_total", "", requests_5xx.load(), "{class=\"5xx\"}", false);
  counter("pgshift_server_unauthenticated_total", "requests refused for lack of credentials",
          unauthenticated.load());
  counter("pgshift_server_audit_write_failures_total", "audit entries the store refused",
          audit_write_failures.load());
  counter("pgshift_server_webhook_deliveries_total", "webhook deliveries answered 2xx",
          webhook_deliveries.load());
  counter("pgshift_server_webhook_failures_total", "webhook deliveries given up or failed",
          webhook_failures.load());
  counter("pgshift_server_driver_runs_failed_total",
          "driver runs that ended with an error or a failed migration", driver_runs_failed.load());
  gauge("pgshift_server_drivers_running", "migrations this server drives now",
        drivers_running.load());
  gauge("pgshift_server_streams_open", "event streams open now", streams_open.load());
  return out;
}

}  // namespace pgshift::server
