// SwitchLanes: how many sessions move to their new backend at once in a switch.
//
// A switch moves every held session of a cluster at the same moment, and each move runs round
// trips on the old server (the session's settings) and on the new one (their replay) while the
// new one is being promoted. All at once on the connector pool, the moves beyond the few that
// keep the servers busy do not end the switch sooner: they take CPU from the promotion
// (bench/cutover, 2 cores, ten sessions: docs/architecture.md, "Inside the proxy, and the
// switch's lanes").
// So moves wait for a lane, and a switch gets one lane per kMovesPerLane sessions it moves, at
// least one and at most `max_lanes`: a few sessions move one after the other inside the
// promotion, thousands still move `max_lanes` at a time.
//
// Only moves onto a standby link take a lane: a login waits on the server's authentication
// (60-190 ms), not on its CPU, and goes to the pool directly. Thread-safe. The pool must
// outlive the lanes' use; moves still waiting when the proxy stops are dropped, as the pool's.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

#include "proxy/task_pool.h"

namespace pgshift::proxy {

class SwitchLanes {
 public:
  static constexpr int kMovesPerLane = 16;

  SwitchLanes(TaskPool& pool, int max_lanes) : pool_(pool), max_lanes_(max_lanes) {}

  // Before a switch sets its sessions moving: how many will move. The last plan holds (two
  // clusters switching at once share the lanes of the later one).
  void Plan(int moves);
  // Runs `move` on the pool once a lane is free, in the order submitted.
  void Submit(std::function<void()> move);
  int lanes() const;

 private:
  void StartWaitingLocked();

  TaskPool& pool_;
  const int max_lanes_;
  mutable std::mutex mu_;
  int lanes_ = 1;
  int running_ = 0;
  std::deque<std::function<void()>> waiting_;
};

}  // namespace pgshift::proxy
