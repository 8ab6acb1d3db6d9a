// Latest progress, hour-long series and the change counter.
#include "server/live_status.h"

namespace pgshift::server {

constexpr double kSeriesSeconds = 3600;

void LiveStatus::Trim(std::deque<Point>& points, double now) {
  while (!points.empty() && points.front().at < now - kSeriesSeconds) points.pop_front();
}

void LiveStatus::Progress(const std::string& migration, const ProgressUpdate& u, double now) {
  if (u.lag_bytes) {
    Sample(migration, u.lag_bytes, std::nullopt, now);
  } else {
    Changed();
  }
}

void LiveStatus::Sample(const std::string& migration, std::optional<uint64_t> lag_bytes,
                        std::optional<double> wal_bytes_per_s, double now) {
  {
    std::lock_guard<std::mutex> l(mu_);
    Migration& m = migrations_[migration];
    if (lag_bytes) {
      m.lag_bytes = lag_bytes;
      m.lag.push_back({now, double(*lag_bytes)});
      Trim(m.lag, now);
    }
    if (wal_bytes_per_s) {
      m.wal_rate.push_back({now, *wal_bytes_per_s});
      Trim(m.wal_rate, now);
    }
    ++version_;
  }
  cv_.notify_all();
}

void LiveStatus::Changed() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++version_;
  }
  cv_.notify_all();
}

std::optional<uint64_t> LiveStatus::LagBytes(const std::string& migration) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = migrations_.find(migration);
  if (it == migrations_.end()) return std::nullopt;
  return it->second.lag_bytes;
}

nlohmann::json LiveStatus::Series(const std::string& migration, double now) const {
  std::lock_guard<std::mutex> l(mu_);
  nlohmann::json lag = nlohmann::json::array();
  nlohmann::json wal = nlohmann::json::array();
  auto it = migrations_.find(migration);
  if (it != migrations_.end()) {
    for (const Point& s : it->second.lag) {
      if (s.at >= now - kSeriesSeconds) lag.push_back({s.at, s.value});
    }
    for (const Point& s : it->second.wal_rate) {
      if (s.at >= now - kSeriesSeconds) wal.push_back({s.at, s.value});
    }
  }
  return {{"lag_bytes", lag}, {"wal_bytes_per_s", wal}};
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
