// Proxy-issued cancel keys.
#include "proxy/cancel_registry.h"

#include <openssl/rand.h>

namespace pgshift::proxy {

ProxyKey CancelRegistry::Issue(const CancelTarget& target) {
  std::lock_guard<std::mutex> l(mu_);
  for (;;) {
    ProxyKey k;
    RAND_bytes(reinterpret_cast<unsigned char*>(&k), sizeof(k));
    k.pid &= 0x7fffffff;  // clients print it as a positive pid
    if (k.pid == 0 || targets_.count(Pack(k))) continue;
    targets_[Pack(k)] = target;
    return k;
  }
}

void CancelRegistry::Update(ProxyKey key, const CancelTarget& target) {
  std::lock_guard<std::mutex> l(mu_);
  targets_[Pack(key)] = target;
}

void CancelRegistry::Remove(ProxyKey key) {
  std::lock_guard<std::mutex> l(mu_);
  targets_.erase(Pack(key));
}

std::optional<CancelTarget> CancelRegistry::Find(ProxyKey key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = targets_.find(Pack(key));
  if (it == targets_.end()) return std::nullopt;
  return it->second;
}

}  // namespace pgshift::proxy
