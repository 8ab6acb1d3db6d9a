// The switch's lanes: a queue in front of the connector pool.
#include "proxy/switch_lanes.h"

#include <algorithm>

namespace pgshift::proxy {

void SwitchLanes::Plan(int moves) {
  std::lock_guard<std::mutex> l(mu_);
  lanes_ = std::clamp((moves + kMovesPerLane - 1) / kMovesPerLane, 1, std::max(1, max_lanes_));
  StartWaitingLocked();
}

void SwitchLanes::Submit(std::function<void()> move) {
  std::lock_guard<std::mutex> l(mu_);
  waiting_.push_back(std::move(move));
  StartWaitingLocked();
}

int SwitchLanes::lanes() const {
  std::lock_guard<std::mutex> l(mu_);
  return lanes_;
}

void SwitchLanes::StartWaitingLocked() {
  while (running_ < lanes_ && !waiting_.empty()) {
    std::function<void()> move = std::move(waiting_.front());
    waiting_.pop_front();
    ++running_;
    // The pool takes its own lock only: never calls back into the lanes while holding it.
    pool_.Submit([this, move = std::move(move)] {
      move();
      std::lock_guard<std::mutex> l(mu_);
      --running_;
      StartWaitingLocked();
    });
  }
}

}  // namespace pgshift::proxy
