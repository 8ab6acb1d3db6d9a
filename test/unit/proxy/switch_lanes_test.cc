// SwitchLanes: how many of a switch's moves run at once, on a real TaskPool. The moves wait on
// a gate the test opens, so what is running is known without timing anything.
#include "proxy/switch_lanes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace pgshift::proxy {
namespace {

// Moves that say when they start and wait until the gate opens.
class GatedMoves {
 public:
  std::function<void()> Move(int n) {
    return [this, n] {
      std::unique_lock<std::mutex> l(mu_);
      started_.push_back(n);
      most_at_once_ = std::max(most_at_once_, int(started_.size()) - finished_);
      cv_.notify_all();
      cv_.wait(l, [this] { return open_; });
      ++finished_;
      cv_.notify_all();
    };
  }
  // Waits (at most 10 s) until `n` moves have started; answers how many have.
  size_t WaitStarted(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::seconds(10), [&] { return started_.size() >= n; });
    return started_.size();
  }
  int OpenAndWaitFinished(int n) {
    std::unique_lock<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
    cv_.wait_for(l, std::chrono::seconds(10), [&] { return finished_ >= n; });
    return finished_;
  }
  std::vector<int> started() {
    std::lock_guard<std::mutex> l(mu_);
    return started_;
  }
  int most_at_once() {
    std::lock_guard<std::mutex> l(mu_);
    return most_at_once_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> started_;
  int finished_ = 0;
  int most_at_once_ = 0;
  bool open_ = false;
};

TEST(SwitchLanes, AFewSessionsMoveOneAfterTheOtherInTheOrderSubmitted) {
  GatedMoves moves;
  {
    TaskPool pool(8);
    SwitchLanes lanes(pool, 32);
    lanes.Plan(10);
    EXPECT_EQ(lanes.lanes(), 1);
    for (int i = 0; i < 10; ++i) lanes.Submit(moves.Move(i));
    EXPECT_EQ(moves.WaitStarted(1), 1u);
    EXPECT_EQ(moves.started().size(), 1u) << "a second move started beside the first";
    EXPECT_EQ(moves.OpenAndWaitFinished(10), 10);
  }
  EXPECT_EQ(moves.most_at_once(), 1);
  EXPECT_EQ(moves.started(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(SwitchLanes, ASwitchGetsALaneForEverySixteenMovesUpToTheMost) {
  GatedMoves moves;  // outlives the pool's threads
  TaskPool pool(8);
  SwitchLanes lanes(pool, 32);
  lanes.Plan(0);
  EXPECT_EQ(lanes.lanes(), 1);
  lanes.Plan(16);
  EXPECT_EQ(lanes.lanes(), 1);
  lanes.Plan(17);
  EXPECT_EQ(lanes.lanes(), 2);
  lanes.Plan(10000);
  EXPECT_EQ(lanes.lanes(), 32);

  lanes.Plan(64);
  for (int i = 0; i < 8; ++i) lanes.Submit(moves.Move(i));
  EXPECT_EQ(moves.WaitStarted(4), 4u);
  EXPECT_EQ(moves.started().size(), 4u) << "more moves ran than the switch has lanes";
  EXPECT_EQ(moves.OpenAndWaitFinished(8), 8);
  EXPECT_EQ(moves.most_at_once(), 4);
}

TEST(SwitchLanes, APlanForMoreMovesStartsThoseWaiting) {
  GatedMoves moves;
  TaskPool pool(8);
  SwitchLanes lanes(pool, 32);
  lanes.Plan(1);
  for (int i = 0; i < 3; ++i) lanes.Submit(moves.Move(i));
  EXPECT_EQ(moves.WaitStarted(1), 1u);
  lanes.Plan(48);
  EXPECT_EQ(moves.WaitStarted(3), 3u);
  EXPECT_EQ(moves.OpenAndWaitFinished(3), 3);
}

}  // namespace
}  // namespace pgshift::proxy
