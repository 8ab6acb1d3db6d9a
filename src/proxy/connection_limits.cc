// Counting of client connections and pending handshakes against their caps.
#include "proxy/connection_limits.h"

namespace pgshift::proxy {

ConnectionLimits::Slot& ConnectionLimits::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    Release();
    owner_ = o.owner_;
    address_ = o.address_;
    pending_ = o.pending_;
    o.owner_ = nullptr;
    o.pending_ = false;
  }
  return *this;
}

void ConnectionLimits::Slot::Authenticated() {
  if (!owner_ || !pending_) return;
  pending_ = false;
  owner_->Authenticated(address_);
}

void ConnectionLimits::Slot::Release() {
  if (!owner_) return;
  owner_->Released(address_, pending_);
  owner_ = nullptr;
  pending_ = false;
}

ConnectionLimits::Refusal ConnectionLimits::TryAdmit(uint32_t address, Slot& slot) {
  std::lock_guard<std::mutex> l(mu_);
  if (connections_ >= max_connections_) return Refusal::kTooManyConnections;
  int& pending = pending_[address];
  if (pending >= max_pending_per_address_) return Refusal::kTooManyPendingFromAddress;
  ++pending;
  ++connections_;
  slot.Release();
  slot.owner_ = this;
  slot.address_ = address;
  slot.pending_ = true;
  return Refusal::kNone;
}

void ConnectionLimits::Authenticated(uint32_t address) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_.find(address);
  if (it != pending_.end() && --it->second <= 0) pending_.erase(it);
}

void ConnectionLimits::Released(uint32_t address, bool pending) {
  std::lock_guard<std::mutex> l(mu_);
  --connections_;
  if (!pending) return;
  auto it = pending_.find(address);
  if (it != pending_.end() && --it->second <= 0) pending_.erase(it);
}

int ConnectionLimits::connections() const {
  std::lock_guard<std::mutex> l(mu_);
  return connections_;
}

int ConnectionLimits::pending_from(uint32_t address) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_.find(address);
  return it == pending_.end() ? 0 : it->second;
}

}  // namespace pgshift::proxy
