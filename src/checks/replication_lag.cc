// Check "replication_lag": the target's lag must stay under the thresholds for the whole
// window. Lag oscillates with bursts of writes, so a single low reading proves nothing: one
// sample over a threshold fails the window.
#include <algorithm>

#include "checks/check_functions.h"

namespace pgshift {

CheckResult CheckReplicationLag(const std::vector<ReplicationSample>& samples,
                                uint64_t max_lag_bytes, double max_lag_seconds) {
  CheckResult r{.name = "replication_lag",
                .query = std::string(window_sql::kSource) + " (source); " + window_sql::kTarget +
                         " (target), every sample interval"};
  std::vector<std::optional<LagPoint>> lag = LagPerSample(samples);
  uint64_t peak_bytes = 0;
  double peak_seconds = 0;
  int over = 0;
  int unknown = 0;
  for (const auto& p : lag) {
    if (!p) {
      ++unknown;
      continue;
    }
    peak_bytes = std::max(peak_bytes, p->bytes);
    peak_seconds = std::max(peak_seconds, p->seconds);
    if (p->bytes > max_lag_bytes || p->seconds > max_lag_seconds) ++over;
  }
  nlohmann::json last = nullptr;
  if (!lag.empty() && lag.back()) {
    last = {{"bytes", lag.back()->bytes}, {"seconds", lag.back()->seconds}};
  }
  r.evidence = {{"samples", samples.size()},
                {"window_seconds", samples.empty() ? 0.0 : samples.back().at_seconds},
                {"samples_over_threshold", over},
                {"samples_without_replay", unknown},
                {"peak_bytes", peak_bytes},
                {"peak_seconds", peak_seconds},
                {"last", last},
                {"max_lag_bytes", max_lag_bytes},
                {"max_lag_seconds", max_lag_seconds}};
  if (samples.empty() || unknown > 0) {
    r.verdict = Verdict::kFail;
    r.advice =
        "the target reported no replay position; it must be a standby of the source "
        "(see replica_identity)";
  } else if (over > 0) {
    r.verdict = Verdict::kFail;
    r.advice = std::to_string(over) + " of " + std::to_string(samples.size()) +
               " samples were over the threshold; wait until the target has caught up (or find "
               "why it lags: network, storage, long queries on the standby) and run the checks "
               "again";
  }
  return r;
}

}  // namespace pgshift
