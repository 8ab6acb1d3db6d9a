// Session listing for the admin API.
#include "proxy/session_registry.h"

namespace pgshift::proxy {

void SessionRegistry::Add(std::shared_ptr<SessionInfo> s) {
  std::lock_guard<std::mutex> l(mu_);
  sessions_[s->id] = std::move(s);
}

void SessionRegistry::Remove(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  sessions_.erase(id);
}

std::vector<std::shared_ptr<SessionInfo>> SessionRegistry::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::shared_ptr<SessionInfo>> out;
  for (const auto& [id, s] : sessions_) out.push_back(s);
  return out;
}

std::vector<std::shared_ptr<SessionInfo>> SessionRegistry::OfCluster(
    const std::string& cluster) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::shared_ptr<SessionInfo>> out;
  for (const auto& [id, s] : sessions_) {
    if (s->cluster == cluster) out.push_back(s);
  }
  return out;
}

}  // namespace pgshift::proxy
