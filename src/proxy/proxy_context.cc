// Shared proxy state construction and cluster kicks.
#include "proxy/proxy_context.h"

#include "common/clock.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace pgshift::proxy {
namespace {

std::shared_ptr<const RouteTable> InitialRoutes(const ProxyConfig& c) {
  auto t = std::make_shared<RouteTable>();
  for (const auto& [name, cl] : c.clusters) t->routes[name] = Endpoint{cl.host, cl.port, cl.tls, 0};
  return t;
}

}  // namespace

ProxyContext::ProxyContext(ProxyConfig c)
    : config(std::move(c)),
      routes(InitialRoutes(config)),
      backend_pool({size_t(config.pool_size), std::chrono::seconds(config.pool_idle_timeout_s)},
                   Clock::Real(), metrics) {
  for (const auto& [name, cl] : config.clusters) {
    clusters[name] = std::make_unique<ClusterControl>(name, metrics.For(name));
  }
}

ClusterControl* ProxyContext::Cluster(const std::string& name) const {
  auto it = clusters.find(name);
  return it == clusters.end() ? nullptr : it->second.get();
}

void ProxyContext::ForEachSessionOf(const std::string& cluster, std::function<void(Session&)> fn) {
  auto shared = std::make_shared<std::function<void(Session&)>>(std::move(fn));
  for (Worker* w : workers) {
    w->Post([cluster, shared](Worker& worker) {
      std::vector<uint64_t> ids;
      for (auto& [id, s] : worker.sessions()) {
        if (s->cluster_name() == cluster) ids.push_back(id);
      }
      // By id: `fn` may end sessions, which changes the map.
      for (uint64_t id : ids) {
        if (Session* s = worker.Find(id)) (*shared)(*s);
      }
    });
  }
}

void ProxyContext::KickCluster(const std::string& cluster) {
  ForEachSessionOf(cluster, [](Session& s) { s.OnKick(); });
}

}  // namespace pgshift::proxy
