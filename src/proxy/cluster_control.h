// ClusterControl: the shared, per-cluster state that the admin side and the event loops
// both touch. The pause handshake is Dekker-style on two seq_cst atomics: a session about to
// start work increments `busy` and then reads `paused`; a pause sets `paused` and then reads
// `busy`. So either the session sees the pause and holds, or the pause sees it busy and waits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "proxy/metrics.h"

namespace pgshift::proxy {

struct ClusterControl {
  ClusterControl(std::string n, ClusterMetrics& m) : name(std::move(n)), metrics(m) {}
  const std::string name;
  ClusterMetrics& metrics;

  std::atomic<bool> paused{false};
  std::atomic<int> busy{0};  // sessions with work in flight (not idle between transactions)
  std::atomic<uint64_t> route_version{0};

  // Pause bookkeeping, under mu (admin side only).
  std::mutex mu;
  uint64_t generation = 0;  // bumps on every pause start and release
  std::chrono::steady_clock::time_point paused_since{}, lease_end{};
};

}  // namespace pgshift::proxy
