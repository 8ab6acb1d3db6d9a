// Versioned route switching.
#include "proxy/route_table.h"

namespace pgshift::proxy {

Result<std::shared_ptr<const RouteTable>> RouteStore::Switch(const std::string& cluster,
                                                             const std::string& host, int port,
                                                             uint64_t version) {
  std::lock_guard<std::mutex> l(write_mu_);
  auto current = table_.load();
  auto it = current->routes.find(cluster);
  if (it == current->routes.end()) return NotFound("unknown cluster '" + cluster + "'");
  if (version <= it->second.version) {
    return Aborted("route version " + std::to_string(version) + " is not above the current " +
                   std::to_string(it->second.version) + " of cluster " + cluster);
  }
  auto next = std::make_shared<RouteTable>(*current);
  Endpoint& e = next->routes[cluster];
  e.host = host;
  e.port = port;
  e.version = version;
  if (version > next->version) next->version = version;
  std::shared_ptr<const RouteTable> frozen = std::move(next);
  table_.store(frozen);
  return frozen;
}

}  // namespace pgshift::proxy
