// The backend pool's decisions: which idle backend a session may take, which come back.
#include "proxy/backend_pool.h"

#include <sys/socket.h>

#include <cerrno>
#include <tuple>

#include "proxy/wire_format.h"

namespace pgshift::proxy {

bool PoolKey::operator<(const PoolKey& o) const {
  return std::tie(cluster, user, database, options) <
         std::tie(o.cluster, o.user, o.database, o.options);
}

void CloseBackendLink(BackendLink& link) {
  if (!link.transport.open()) return;
  std::string bye = wire::Terminate();
  if (link.transport.tls()) {
    (void)link.transport.Write(bye.data(), bye.size());
  } else {
    (void)!::send(link.transport.fd(), bye.data(), bye.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  link.transport.Close();
}

bool BackendIsSilent(const Transport& t) {
  if (!t.open()) return false;
  if (t.tls() && SSL_pending(t.ssl()) > 0) return false;
  char c;
  ssize_t n = ::recv(t.fd(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

BackendPool::BackendPool(Settings settings, const Clock& clock, MetricsRegistry& metrics)
    : settings_(settings), clock_(clock), metrics_(metrics) {}

BackendPool::~BackendPool() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [name, pool] : clusters_) {
    Closed(name, DropIdle(pool, [](const Idle&) { return true; }), /*discard=*/false);
  }
}

template <typename Drop>
size_t BackendPool::DropIdle(ClusterPool& pool, Drop drop) {
  size_t n = 0;
  for (auto it = pool.idle.begin(); it != pool.idle.end();) {
    auto& list = it->second;
    for (auto e = list.begin(); e != list.end();) {
      if (drop(*e)) {
        CloseBackendLink(e->link);
        e = list.erase(e);
        ++n;
      } else {
        ++e;
      }
    }
    it = list.empty() ? pool.idle.erase(it) : std::next(it);
  }
  return n;
}

void BackendPool::Closed(const std::string& cluster, size_t n, bool discard) {
  if (n == 0) return;
  ClusterMetrics& m = metrics_.For(cluster);
  m.Add(Metric::kPoolIdleBackends, -int64_t(n));
  if (discard) m.Add(Metric::kPoolDiscards, int64_t(n));
}

std::optional<BackendLink> BackendPool::Take(const PoolKey& key, uint64_t route_version) {
  if (!enabled()) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  ClusterMetrics& m = metrics_.For(key.cluster);
  auto c = clusters_.find(key.cluster);
  if (c == clusters_.end() || c->second.suspended) {
    m.Add(Metric::kPoolMisses);
    return std::nullopt;
  }
  auto it = c->second.idle.find(key);
  if (it == c->second.idle.end()) {
    m.Add(Metric::kPoolMisses);
    return std::nullopt;
  }
  auto& list = it->second;
  auto now = clock_.Now();
  std::optional<BackendLink> found;
  size_t dropped = 0;
  // Most recently returned first: its server process and caches are the warmest, and the
  // oldest ones are left to age out when fewer are needed.
  while (!list.empty() && !found) {
    Idle e = std::move(list.back());
    list.pop_back();
    if (e.route_version == route_version && now - e.since < settings_.idle_timeout &&
        BackendIsSilent(e.link.transport)) {
      found = std::move(e.link);
    } else {
      CloseBackendLink(e.link);
      ++dropped;
    }
  }
  if (list.empty()) c->second.idle.erase(it);
  Closed(key.cluster, dropped, /*discard=*/true);
  if (!found) {
    m.Add(Metric::kPoolMisses);
    return std::nullopt;
  }
  m.Add(Metric::kPoolIdleBackends, -1);
  m.Add(Metric::kPoolHits);
  return found;
}

BackendPool::PutOutcome BackendPool::Put(const PoolKey& key, BackendLink link,
                                         uint64_t route_version) {
  PutOutcome outcome = PutOutcome::kPooled;
  {
    std::lock_guard<std::mutex> l(mu_);
    ClusterPool& pool = clusters_[key.cluster];
    if (!enabled()) {
      outcome = PutOutcome::kDisabled;
    } else if (pool.suspended) {
      outcome = PutOutcome::kSuspended;
    } else if (route_version < pool.min_version) {
      outcome = PutOutcome::kOldRoute;
    } else {
      auto& list = pool.idle[key];
      if (list.size() >= settings_.size) {
        outcome = PutOutcome::kPoolFull;
      } else {
        list.push_back(Idle{std::move(link), route_version, clock_.Now()});
        metrics_.For(key.cluster).Add(Metric::kPoolIdleBackends);
        return outcome;
      }
    }
  }
  CloseBackendLink(link);
  CountDiscard(key.cluster);
  return outcome;
}

void BackendPool::CountDiscard(const std::string& cluster) {
  metrics_.For(cluster).Add(Metric::kPoolDiscards);
}

void BackendPool::Suspend(const std::string& cluster) {
  std::lock_guard<std::mutex> l(mu_);
  ClusterPool& pool = clusters_[cluster];
  pool.suspended = true;
  Closed(cluster, DropIdle(pool, [](const Idle&) { return true; }), /*discard=*/true);
}

void BackendPool::Reopen(const std::string& cluster) {
  std::lock_guard<std::mutex> l(mu_);
  clusters_[cluster].suspended = false;
}

void BackendPool::RouteChanged(const std::string& cluster, uint64_t version) {
  std::lock_guard<std::mutex> l(mu_);
  ClusterPool& pool = clusters_[cluster];
  if (version > pool.min_version) pool.min_version = version;
  Closed(cluster, DropIdle(pool, [version](const Idle& e) { return e.route_version < version; }),
         /*discard=*/true);
}

void BackendPool::ExpireIdle() {
  std::lock_guard<std::mutex> l(mu_);
  auto now = clock_.Now();
  for (auto& [name, pool] : clusters_) {
    Closed(name,
           DropIdle(pool, [&](const Idle& e) { return now - e.since >= settings_.idle_timeout; }),
           /*discard=*/true);
  }
}

size_t BackendPool::idle(const std::string& cluster) const {
  std::lock_guard<std::mutex> l(mu_);
  auto c = clusters_.find(cluster);
  if (c == clusters_.end()) return 0;
  size_t n = 0;
  for (const auto& [key, list] : c->second.idle) n += list.size();
  return n;
}

}  // namespace pgshift::proxy
