// Latest progress, hour-long series and the change counter.
#include "server/live_status.h"

namespace pgshift::server {

constexpr double kSeriesSeconds = 3600;

void LiveStatus::Trim(std::deque<Sample>& samples, double now) {
  while (!samples.empty() && samples.front().at < now - kSeriesSeconds) samples.pop_front();
}

void LiveStatus::Progress(const std::string& migration, const ProgressUpdate& u, double now) {
  {
    std::lock_guard<std::mutex> l(mu_);
    Migration& m = migrations_[migration];
    if (u.lag_bytes) {
      m.lag_bytes = u.lag_bytes;
      m.lag.push_back({now, double(*u.lag_bytes)});
      Trim(m.lag, now);
    }
    if (u.bytes_done) {
      if (m.last_bytes_done && now > m.last_bytes_done->at &&
          double(*u.bytes_done) >= m.last_bytes_done->value) {
        double rate =
            (double(*u.bytes_done) - m.last_bytes_done->value) / (now - m.last_bytes_done->at);
        m.wal_rate.push_back({now, rate});
        Trim(m.wal_rate, now);
      }
      m.last_bytes_done = Sample{now, double(*u.bytes_done)};
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
    for (const Sample& s : it->second.lag) {
      if (s.at >= now - kSeriesSeconds) lag.push_back({s.at, s.value});
    }
    for (const Sample& s : it->second.wal_rate) {
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
