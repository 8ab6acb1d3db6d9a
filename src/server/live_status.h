// LiveStatus: what the server knows of its driven migrations beyond the store: the latest
// progress report of each (lag, message) and a series of lag samples over the last hour, and
// a change counter that the event streams wait on (bumped by every transition, progress
// report and API change), so a stream wakes when something moved instead of polling blindly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "workflow/progress.h"

namespace pgshift::server {

class LiveStatus {
 public:
  // Records `u` for `migration` at wall time `now` (seconds).
  void Progress(const std::string& migration, const ProgressUpdate& u, double now);
  // Something changed (a transition, an API write): wakes the streams.
  void Changed();

  // The last lag in bytes reported for `migration`, if any.
  std::optional<uint64_t> LagBytes(const std::string& migration) const;
  // {"lag_bytes":[[t,v]...],"wal_bytes_per_s":[[t,v]...]}: the samples of the last hour
  // before `now`. The WAL rate is derived from successive bytes_done reports when present.
  nlohmann::json Series(const std::string& migration, double now) const;

  uint64_t version() const;
  // Waits until version() differs from `seen` or `timeout` passes; returns version().
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;

 private:
  struct Sample {
    double at;
    double value;
  };
  struct Migration {
    std::optional<uint64_t> lag_bytes;
    std::deque<Sample> lag;
    std::deque<Sample> wal_rate;
    std::optional<Sample> last_bytes_done;
  };
  static void Trim(std::deque<Sample>& samples, double now);
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Migration> migrations_;
  uint64_t version_ = 0;
};

}  // namespace pgshift::server
