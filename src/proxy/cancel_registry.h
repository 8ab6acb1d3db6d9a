// CancelRegistry: the proxy issues its own BackendKeyData to clients (so backend pids and
// secrets never leave the proxy, and a switch does not invalidate the client's key) and
// maps each issued key to the backend key the session currently uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "proxy/route_table.h"

namespace pgshift::proxy {

struct CancelTarget {
  std::string cluster;
  Endpoint endpoint;
  uint32_t pid = 0, secret = 0;
};

struct ProxyKey {
  uint32_t pid = 0, secret = 0;
};

// Fills `size` bytes at `out` with cryptographically strong random bytes; false when it
// cannot (OpenSSL's RAND_bytes by default).
using RandomSource = std::function<bool(unsigned char* out, size_t size)>;

class CancelRegistry {
 public:
  CancelRegistry();
  explicit CancelRegistry(RandomSource random);

  // A fresh random key for a new session. kInternal when the random source fails, or
  // keeps yielding keys that cannot be issued (0 or already in use): the login then fails
  // rather than handing out a guessable key or waiting forever under the lock.
  Result<ProxyKey> Issue(const CancelTarget& target);
  void Update(ProxyKey key, const CancelTarget& target);
  void Remove(ProxyKey key);
  std::optional<CancelTarget> Find(ProxyKey key) const;

 private:
  static uint64_t Pack(ProxyKey k) { return (uint64_t(k.pid) << 32) | k.secret; }
  RandomSource random_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, CancelTarget> targets_;
};

}  // namespace pgshift::proxy
