// BackendPool: idle, authenticated backend connections kept for the next client session, so a
// client that connects often does not cost a new backend login each time (the SCRAM exchange
// and the server's process start dominate a connection's cost). Session pooling, as
// PgBouncer's pool_mode = session: a client still has one backend to itself while its session
// lasts; the pool only holds backends between sessions, reset (backend_reset.h) before they are
// put back.
//
// A backend is handed out again only where it is indistinguishable from a fresh login:
// - the same key: cluster, backend role and database, and every startup parameter the client
//   sent (application_name, options, GUCs), since RESET ALL returns a session to the values of
//   its own startup packet, not the next client's;
// - the same route version as the cluster's current route. The pool follows the route: a switch
//   (RouteChanged) closes every idle backend of an older version and refuses those still coming
//   back, and a pause (Suspend, until Reopen) closes them all and takes none back, so no pooled
//   backend of the old server is ever handed out, and the fence has fewer sessions to end;
// - still open and silent: a backend with anything to read (a termination notice, a
//   notification, EOF) is closed instead;
// - younger than the idle timeout (ExpireIdle closes the older ones too).
// At most `size` idle backends per key; 0 disables the pool. Thread-safe: every worker and the
// reset tasks share one pool.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "proxy/backend_login.h"
#include "proxy/metrics.h"

namespace pgshift::proxy {

// What makes two backends interchangeable for a client session.
struct PoolKey {
  std::string cluster;
  std::string user;                            // backend role
  std::string database;                        // backend database
  std::map<std::string, std::string> options;  // the client's other startup parameters
  bool operator<(const PoolKey& o) const;
};

class BackendPool {
 public:
  struct Settings {
    size_t size = 8;  // idle backends kept per key; 0: no pooling
    Clock::Duration idle_timeout = std::chrono::seconds(60);
  };
  // Why a backend given back was kept or closed.
  enum class PutOutcome { kPooled, kPoolFull, kOldRoute, kSuspended, kDisabled };

  BackendPool(Settings settings, const Clock& clock, MetricsRegistry& metrics);
  ~BackendPool();  // closes every idle backend
  BackendPool(const BackendPool&) = delete;
  BackendPool& operator=(const BackendPool&) = delete;

  bool enabled() const { return settings_.size > 0; }

  // An idle backend for `key` opened on route version `route_version` (the cluster's current
  // one), the most recently returned first; idle backends found dead, aged out or of another
  // version on the way are closed. Counts a hit or a miss.
  std::optional<BackendLink> Take(const PoolKey& key, uint64_t route_version);
  // A backend whose session ended, already reset, opened on `route_version`. Closed instead
  // (counted as a discard) unless the outcome is kPooled.
  PutOutcome Put(const PoolKey& key, BackendLink link, uint64_t route_version);
  // Counts a backend the session layer closed rather than give back (its state not clearable,
  // or the reset failed).
  void CountDiscard(const std::string& cluster);

  // A pause of `cluster` began: closes its idle backends and takes none back until Reopen.
  void Suspend(const std::string& cluster);
  void Reopen(const std::string& cluster);
  // `cluster` now routes to `version`: closes its idle backends of older versions, and from now
  // on takes back none opened on an older version.
  void RouteChanged(const std::string& cluster, uint64_t version);
  // Closes idle backends that waited longer than the idle timeout.
  void ExpireIdle();

  size_t idle(const std::string& cluster) const;

 private:
  struct Idle {
    BackendLink link;
    uint64_t route_version = 0;
    Clock::TimePoint since;
  };
  struct ClusterPool {
    bool suspended = false;
    uint64_t min_version = 0;  // older ones are never taken back
    std::map<PoolKey, std::deque<Idle>> idle;
  };
  // Closes `n` idle backends of `cluster` (already out of its lists), counting them.
  void Closed(const std::string& cluster, size_t n, bool discard);
  // Removes the idle backends of `pool` that `drop` selects, closing them; returns how many.
  template <typename Drop>
  size_t DropIdle(ClusterPool& pool, Drop drop);

  const Settings settings_;
  const Clock& clock_;
  MetricsRegistry& metrics_;
  mutable std::mutex mu_;
  std::map<std::string, ClusterPool> clusters_;
};

// Closes a backend connection politely: a Terminate message (best effort, never blocking),
// so the server ends the session without logging a lost client.
void CloseBackendLink(BackendLink& link);

// True while nothing can be read from the idle backend: no bytes, no EOF, nothing buffered
// in TLS. A pooled backend has nothing to say; anything it said (a termination notice, a
// notification) makes it unfit to hand out.
bool BackendIsSilent(const Transport& t);

}  // namespace pgshift::proxy
