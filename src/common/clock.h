// Clock: the seam through which time reaches logic, so a unit test can drive a deadline
// without sleeping.
#pragma once

#include <chrono>
#include <mutex>

namespace pgshift {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  virtual void SleepFor(Duration d) = 0;
  // Wall-clock seconds since the epoch, for records shown to people.
  virtual double WallSeconds() const = 0;

  static Clock& Real();
};

// A clock that moves only when told; SleepFor advances it.
class FakeClock : public Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  void SleepFor(Duration d) override { Advance(d); }
  double WallSeconds() const override {
    return std::chrono::duration<double>(Now().time_since_epoch()).count();
  }
  void Advance(Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_{};
};

// A deadline measured on a Clock.
class Deadline {
 public:
  Deadline(const Clock& clock, Clock::Duration budget)
      : clock_(clock), end_(clock.Now() + budget) {}
  bool Expired() const { return clock_.Now() >= end_; }
  Clock::Duration Remaining() const {
    auto r = end_ - clock_.Now();
    return r.count() > 0 ? r : Clock::Duration::zero();
  }

 private:
  const Clock& clock_;
  Clock::TimePoint end_;
};

}  // namespace pgshift
