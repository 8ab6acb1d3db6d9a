// The per-migration sample rings.
#include "server/metric_series.h"

#include <algorithm>

namespace pgshift::server {

void MetricSeries::Push(Ring& ring, double at, double value) {
  const double slot = options_.span_s / static_cast<double>(std::max<size_t>(options_.points, 1));
  if (!ring.empty() && at < ring.back().first) return;  // out of order: dropped
  if (!ring.empty() && ring.size() > 1 && at - ring[ring.size() - 2].first < slot) {
    ring.back() = {at, value};  // still inside the slot the last sample opened
  } else {
    ring.emplace_back(at, value);
  }
  while (ring.size() > options_.points) ring.pop_front();
  while (!ring.empty() && ring.front().first < at - options_.span_s) ring.pop_front();
}

MetricSeries::Entry& MetricSeries::EntryOf(const std::string& migration, double at) {
  auto it = entries_.find(migration);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_migrations && !entries_.empty()) {
      auto oldest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
        return a.second.touched < b.second.touched;
      });
      entries_.erase(oldest);
    }
    it = entries_.emplace(migration, Entry{}).first;
  }
  it->second.touched = std::max(it->second.touched, at);
  return it->second;
}

void MetricSeries::RecordLag(const std::string& migration, double at, uint64_t lag_bytes) {
  std::lock_guard<std::mutex> l(mu_);
  Push(EntryOf(migration, at).lag, at, static_cast<double>(lag_bytes));
}

void MetricSeries::RecordWalRate(const std::string& migration, double at, double bytes_per_s) {
  std::lock_guard<std::mutex> l(mu_);
  Push(EntryOf(migration, at).wal_rate, at, bytes_per_s);
}

void MetricSeries::RecordWalPosition(const std::string& migration, double at,
                                     uint64_t wal_position) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = EntryOf(migration, at);
  if (e.last_position && at > e.last_position->first && wal_position >= e.last_position->second) {
    double rate =
        static_cast<double>(wal_position - e.last_position->second) / (at - e.last_position->first);
    Push(e.wal_rate, at, rate);
  }
  e.last_position = std::make_pair(at, wal_position);
}

nlohmann::json MetricSeries::ToJson(const std::string& migration, double now) const {
  std::lock_guard<std::mutex> l(mu_);
  nlohmann::json lag = nlohmann::json::array(), wal = nlohmann::json::array();
  auto it = entries_.find(migration);
  if (it != entries_.end()) {
    auto dump = [&](const Ring& ring, nlohmann::json& out) {
      for (const auto& [t, v] : ring) {
        if (t >= now - options_.span_s) out.push_back({t, v});
      }
    };
    dump(it->second.lag, lag);
    dump(it->second.wal_rate, wal);
  }
  return {{"lag_bytes", lag}, {"wal_bytes_per_s", wal}};
}

std::optional<uint64_t> MetricSeries::LatestLag(const std::string& migration, double now,
                                                double max_age_s) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(migration);
  if (it == entries_.end() || it->second.lag.empty()) return std::nullopt;
  const auto& [t, v] = it->second.lag.back();
  if (t < now - max_age_s) return std::nullopt;
  return static_cast<uint64_t>(v);
}

std::optional<uint64_t> MetricSeries::LastLag(const std::string& migration) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(migration);
  if (it == entries_.end() || it->second.lag.empty()) return std::nullopt;
  return static_cast<uint64_t>(it->second.lag.back().second);
}

void MetricSeries::Forget(const std::string& migration) {
  std::lock_guard<std::mutex> l(mu_);
  entries_.erase(migration);
}

size_t MetricSeries::migrations() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

}  // namespace pgshift::server
