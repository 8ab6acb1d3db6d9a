// RouteTable: which backend endpoint each cluster's sessions use. Immutable once built;
// a switch builds a new table with a higher version and swaps it in atomically, so a session
// reading the table never sees half a change. Versions only increase, also across restarts
// when the store persists (Restore): a switch is then on disk before anyone sees it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "proxy/proxy_config.h"

namespace pgshift::proxy {

struct Endpoint {
  std::string host;
  int port = 0;
  BackendTls tls = BackendTls::kDisable;
  uint64_t version = 0;  // the route version this endpoint was set by
};

struct RouteTable {
  uint64_t version = 0;  // the highest version of any route
  std::map<std::string, Endpoint> routes;
};

class RouteStore {
 public:
  explicit RouteStore(std::shared_ptr<const RouteTable> initial) : table_(std::move(initial)) {}
  std::shared_ptr<const RouteTable> Get() const { return table_.load(); }
  // Points `cluster` at host:port as `version`. kAborted when version is not above the
  // cluster's current one; kNotFound for an unknown cluster; kUnavailable when the route file
  // cannot be written (then nothing changed).
  Result<std::shared_ptr<const RouteTable>> Switch(const std::string& cluster,
                                                   const std::string& host, int port,
                                                   uint64_t version);

  // Loads the routes persisted in `path` over the current ones (a persisted route of a cluster
  // the config no longer has is ignored) and from now on writes every switch there before it
  // takes effect. An absent file changes nothing. kFailedPrecondition for an unreadable or
  // malformed file (see route_persistence.h). Call before any session reads the table.
  Status Restore(const std::string& path);

 private:
  std::atomic<std::shared_ptr<const RouteTable>> table_;
  std::mutex write_mu_;  // serialises writers (read-modify-write); readers never lock
  std::string path_;     // the route file; empty: not persisted
};

}  // namespace pgshift::proxy
