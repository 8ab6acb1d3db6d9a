// RouteTable: which backend endpoint each cluster's sessions use. Immutable once built;
// a switch builds a new table with a higher version and swaps it in atomically, so a session
// reading the table never sees half a change. Versions only increase, also across restarts
// when the store persists (Restore): a switch is then on disk before anyone sees it.
//
// A route is *confirmed* once an explicit resume of its cluster named it (Confirm): only then
// may sessions write through the target fence there (docs/architecture.md, "The pause lease
// and the target fence"). A switch leaves its route unconfirmed; a config route is confirmed.
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
  // An explicit resume confirmed this route since the switch that set it (see above).
  bool confirmed = true;
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

  // Marks `cluster`'s current route confirmed, in memory at once (sessions see it from now
  // on); true when it was not. Persist() writes it to the route file afterwards, so that the
  // file write stays out of the held window: a crash in between loads the route unconfirmed,
  // the safe side. kNotFound for an unknown cluster.
  Result<bool> Confirm(const std::string& cluster);
  // Writes the current table to the route file (nothing without one). kUnavailable naming the
  // file when it cannot be written.
  Status Persist();

 private:
  std::atomic<std::shared_ptr<const RouteTable>> table_;
  std::mutex write_mu_;  // serialises writers (read-modify-write); readers never lock
  std::string path_;     // the route file; empty: not persisted
};

}  // namespace pgshift::proxy
