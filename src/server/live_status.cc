// Hour-long series (MetricSeries) and the change counter.
#include "server/live_status.h"

namespace pgshift::server {

void LiveStatus::Progress(const std::string& migration, const ProgressUpdate& u, double now) {
  // bytes_done counts a base backup's progress, not WAL: the WAL rate comes from the sampler.
  if (u.lag_bytes) series_.RecordLag(migration, now, *u.lag_bytes);
  Changed();
}

void LiveStatus::Sample(const std::string& migration, std::optional<uint64_t> lag_bytes,
                        std::optional<double> wal_bytes_per_s, double now) {
  if (lag_bytes) series_.RecordLag(migration, now, *lag_bytes);
  if (wal_bytes_per_s) series_.RecordWalRate(migration, now, *wal_bytes_per_s);
  Changed();
}

void LiveStatus::Changed() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++version_;
  }
  cv_.notify_all();
}

std::optional<uint64_t> LiveStatus::LagBytes(const std::string& migration) const {
  return series_.LastLag(migration);
}

nlohmann::json LiveStatus::Series(const std::string& migration, double now) const {
  return series_.ToJson(migration, now);
}

uint64_t LiveStatus::version() const {
  std::lock_guard<std::mutex> l(mu_);
  return version_;
}

uint64_t LiveStatus::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, timeout, [&] { return version_ != seen; });
  return version_;
}

}  // namespace pgshift::server
