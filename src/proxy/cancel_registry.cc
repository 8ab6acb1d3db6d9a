// Proxy-issued cancel keys.
#include "proxy/cancel_registry.h"

#include <openssl/rand.h>

#include <climits>

namespace pgshift::proxy {
namespace {

// With 2^63 possible keys, a collision more than a few times in a row means the source is
// not random: give up instead of looping.
constexpr int kDrawAttempts = 16;

bool OpenSslRandom(unsigned char* out, size_t size) {
  return size <= size_t(INT_MAX) && RAND_bytes(out, int(size)) == 1;
}

}  // namespace

CancelRegistry::CancelRegistry() : CancelRegistry(OpenSslRandom) {}

CancelRegistry::CancelRegistry(RandomSource random) : random_(std::move(random)) {}

Result<ProxyKey> CancelRegistry::Issue(const CancelTarget& target) {
  std::lock_guard<std::mutex> l(mu_);
  for (int attempt = 0; attempt < kDrawAttempts; ++attempt) {
    unsigned char bytes[8];
    if (!random_(bytes, sizeof(bytes))) {
      return Internal("no cancel key: the random source failed");
    }
    ProxyKey k;
    k.pid =
        (uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3]) &
        0x7fffffff;  // clients print it as a positive pid
    k.secret =
        uint32_t(bytes[4]) << 24 | uint32_t(bytes[5]) << 16 | uint32_t(bytes[6]) << 8 | bytes[7];
    if (k.pid == 0 || targets_.count(Pack(k))) continue;
    targets_[Pack(k)] = target;
    return k;
  }
  return Internal("no cancel key: the random source kept repeating itself");
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
