// MetricSeries: the last hour of each migration's replication lag (bytes) and WAL generation
// rate (bytes/s), for the migration's JSON (`series`) and the page's chart. Samples come from
// whoever reads them (the server's lag sampler, the driver's progress) with their wall time.
// Memory is bounded: each series is a ring of at most `points` samples, one per
// span/points seconds (a sample inside the current slot replaces the slot's last one), and at
// most `max_migrations` migrations are kept (the one updated longest ago is forgotten first).
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

namespace pgshift::server {

struct MetricSeriesOptions {
  double span_s = 3600;
  size_t points = 720;  // one per 5 s over an hour
  size_t max_migrations = 5000;
};

class MetricSeries {
 public:
  explicit MetricSeries(MetricSeriesOptions options = {}) : options_(options) {}

  void RecordLag(const std::string& migration, double at, uint64_t lag_bytes);
  void RecordWalRate(const std::string& migration, double at, double bytes_per_s);
  // The source's WAL position (bytes, as Lsn::value) at `at`: the rate is derived from the
  // previous position recorded for the migration (none for the first, or after WAL went back).
  void RecordWalPosition(const std::string& migration, double at, uint64_t wal_position);

  // {"lag_bytes":[[t,v]...],"wal_bytes_per_s":[[t,v]...]}: samples within the span before
  // `now`, oldest first, t in wall seconds. Empty arrays for an unknown migration.
  nlohmann::json ToJson(const std::string& migration, double now) const;
  // The latest lag sample no older than `max_age_s` before `now`.
  std::optional<uint64_t> LatestLag(const std::string& migration, double now,
                                    double max_age_s) const;
  // The latest lag sample kept, whatever its age.
  std::optional<uint64_t> LastLag(const std::string& migration) const;
  void Forget(const std::string& migration);
  size_t migrations() const;

 private:
  using Ring = std::deque<std::pair<double, double>>;
  struct Entry {
    Ring lag, wal_rate;
    std::optional<std::pair<double, uint64_t>> last_position;
    double touched = 0;
  };
  void Push(Ring& ring, double at, double value);
  Entry& EntryOf(const std::string& migration, double at);  // mu_ held

  MetricSeriesOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace pgshift::server
