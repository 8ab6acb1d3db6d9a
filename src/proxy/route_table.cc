// Versioned route switching.
#include "proxy/route_table.h"

#include "common/log.h"
#include "proxy/route_persistence.h"

namespace pgshift::proxy {
namespace {

// Only switched routes: the others are the config's, which a restart reads again.
PersistedRoutes SwitchedRoutes(const RouteTable& t) {
  PersistedRoutes out;
  for (const auto& [name, e] : t.routes) {
    if (e.version > 0) out[name] = {e.host, e.port, e.version, e.confirmed};
  }
  return out;
}

}  // namespace

Status RouteStore::Restore(const std::string& path) {
  std::lock_guard<std::mutex> l(write_mu_);
  ASSIGN_OR_RETURN(PersistedRoutes persisted, ReadPersistedRoutes(path));
  auto next = std::make_shared<RouteTable>(*table_.load());
  for (const auto& [name, r] : persisted) {
    auto it = next->routes.find(name);
    if (it == next->routes.end()) {
      spdlog::warn("proxy: route file {}: cluster {} is not in the config; its route is dropped",
                   path, name);
      continue;
    }
    if (r.version <= it->second.version) continue;
    it->second.host = r.host;
    it->second.port = r.port;
    it->second.version = r.version;
    it->second.confirmed = r.confirmed;
    if (r.version > next->version) next->version = r.version;
    spdlog::info("proxy: cluster {} routed to {}:{} (version {}, {}, from {})", name, r.host,
                 r.port, r.version, r.confirmed ? "confirmed" : "not confirmed by a resume", path);
  }
  path_ = path;
  table_.store(std::shared_ptr<const RouteTable>(std::move(next)));
  return Status::Ok();
}

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
  e.confirmed = false;  // until an explicit resume names it
  if (version > next->version) next->version = version;
  // On disk first: a switch a restart could forget would let an older version in again.
  if (!path_.empty()) {
    if (Status st = WritePersistedRoutes(path_, SwitchedRoutes(*next)); !st.ok()) {
      return Unavailable("cluster " + cluster + " not switched: " + st.message());
    }
  }
  std::shared_ptr<const RouteTable> frozen = std::move(next);
  table_.store(frozen);
  return frozen;
}

Result<bool> RouteStore::Confirm(const std::string& cluster) {
  std::lock_guard<std::mutex> l(write_mu_);
  auto current = table_.load();
  auto it = current->routes.find(cluster);
  if (it == current->routes.end()) return NotFound("unknown cluster '" + cluster + "'");
  if (it->second.confirmed) return false;
  auto next = std::make_shared<RouteTable>(*current);
  next->routes[cluster].confirmed = true;
  table_.store(std::shared_ptr<const RouteTable>(std::move(next)));
  return true;
}

Status RouteStore::Persist() {
  std::lock_guard<std::mutex> l(write_mu_);
  if (path_.empty()) return Status::Ok();
  return WritePersistedRoutes(path_, SwitchedRoutes(*table_.load()));
}

}  // namespace pgshift::proxy
