// Prometheus exposition of the metric list.
#include "proxy/metrics.h"

namespace pgshift::proxy {

ClusterMetrics& MetricsRegistry::For(const std::string& cluster) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = by_cluster_[cluster];
  if (!slot) slot = std::make_unique<ClusterMetrics>();
  return *slot;
}

std::string MetricsRegistry::PrometheusText() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  struct Def {
    Metric id;
    const char* name;
    const char* type;
    const char* help;
  };
  static const Def kDefs[] = {
#define PGSHIFT_METRIC_DEF(id, name, type, help) {Metric::id, name, type, help},
      PGSHIFT_PROXY_METRICS(PGSHIFT_METRIC_DEF)
#undef PGSHIFT_METRIC_DEF
  };
  for (const Def& d : kDefs) {
    out += std::string("# HELP ") + d.name + " " + d.help + "\n";
    out += std::string("# TYPE ") + d.name + " " + d.type + "\n";
    for (const auto& [cluster, m] : by_cluster_) {
      out += std::string(d.name) + "{cluster=\"" + cluster + "\"} " + std::to_string(m->Get(d.id)) +
             "\n";
    }
  }
  return out;
}

}  // namespace pgshift::proxy
