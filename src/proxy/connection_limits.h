// ConnectionLimits: the caps on client connections a proxy holds before and after
// authentication, shared by every worker: at most `max_connections` client connections in
// all (max_client_connections), and at most `max_pending_per_address` of them from one IPv4
// address still in their handshake (TLS, startup packet, admission:
// max_pending_handshakes_per_address), so one address cannot take every slot with
// connections that never authenticate. Thread-safe; a Slot is held by its session until it
// closes.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace pgshift::proxy {

class ConnectionLimits {
 public:
  ConnectionLimits(int max_connections, int max_pending_per_address)
      : max_connections_(max_connections), max_pending_per_address_(max_pending_per_address) {}
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // One admitted connection: counted until destroyed or reset; pending for its address
  // until Authenticated().
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept { *this = std::move(o); }
    Slot& operator=(Slot&& o) noexcept;
    ~Slot() { Release(); }
    void Authenticated();
    void Release();
    bool held() const { return owner_ != nullptr; }

   private:
    friend class ConnectionLimits;
    ConnectionLimits* owner_ = nullptr;
    uint32_t address_ = 0;
    bool pending_ = false;
  };

  enum class Refusal { kNone, kTooManyConnections, kTooManyPendingFromAddress };
  // Takes a slot for a new connection from `address` (network byte order), or says which
  // cap refuses it (then `slot` is left empty).
  Refusal TryAdmit(uint32_t address, Slot& slot);
  int connections() const;
  int pending_from(uint32_t address) const;

 private:
  void Authenticated(uint32_t address);
  void Released(uint32_t address, bool pending);
  const int max_connections_;
  const int max_pending_per_address_;
  mutable std::mutex mu_;
  int connections_ = 0;
  std::unordered_map<uint32_t, int> pending_;  // address -> connections in their handshake
};

}  // namespace pgshift::proxy
