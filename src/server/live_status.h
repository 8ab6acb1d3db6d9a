// LiveStatus: what the server knows of its driven migrations beyond the store: the latest
// lag each progress report gave, series of lag and WAL rate samples over the last hour (fed by
// progress reports and by whoever samples the clusters, through Sample), and
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
  // Records `u` for `migration` at wall time `now` (seconds): its lag, when it has one.
  void Progress(const std::string& migration, const ProgressUpdate& u, double now);
  // A sample of the migration's lag and/or the source's WAL rate (bytes per second).
  void Sample(const std::string& migration, std::optional<uint64_t> lag_bytes,
              std::optional<double> wal_bytes_per_s, double now);
  // Something changed (a transition, an API write): wakes the streams.
  void Changed();

  // The last lag in bytes reported for `migration`, if any.
  std::optional<uint64_t> LagBytes(const std::string& migration) const;
  // {"lag_bytes":[[t,v]...],"wal_bytes_per_s":[[t,v]...]}: the samples of the last hour
  // before `now`.
  nlohmann::json Series(const std::string& migration, double now) const;

  uint64_t version() const;
  // Waits until version() differs from `seen` or `timeout` passes; returns version().
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;

 private:
  struct Point {
    double at;
    double value;
  };
  struct Migration {
    std::optional<uint64_t> lag_bytes;
    std::deque<Point> lag;
    std::deque<Point> wal_rate;
  };
  static void Trim(std::deque<Point>& samples, double now);
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Migration> migrations_;
  uint64_t version_ = 0;
};

}  // namespace pgshift::server
