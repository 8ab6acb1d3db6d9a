// LiveStatus: what the server knows of its driven migrations beyond the store: the last hour's
// lag and WAL-rate samples of each (MetricSeries: fed by progress reports and the cutover
// policy's lag sampler), and a change counter that the event streams wait on (bumped by every
// transition, progress report and API change), so a stream wakes when something moved instead of
// polling blindly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "server/metric_series.h"
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

  // The last lag in bytes sampled or reported for `migration` within the last hour, if any.
  std::optional<uint64_t> LagBytes(const std::string& migration) const;
  // {"lag_bytes":[[t,v]...],"wal_bytes_per_s":[[t,v]...]}: the samples of the last hour
  // before `now` (MetricSeries::ToJson).
  nlohmann::json Series(const std::string& migration, double now) const;
  // The samples themselves (thread-safe), for the lag sampler and the arming ticker.
  MetricSeries& series() { return series_; }
  const MetricSeries& series() const { return series_; }

  uint64_t version() const;
  // Waits until version() differs from `seen` or `timeout` passes; returns version().
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;

 private:
  MetricSeries series_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  uint64_t version_ = 0;
};

}  // namespace pgshift::server
