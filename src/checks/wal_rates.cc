// Check "wal_rates": how fast the source writes WAL and how fast the target replays it over
// the window. A target that replays slower than the source writes falls further behind the
// longer it runs, and the cutover's drain would never finish in time (warn).
#include <algorithm>

#include "checks/check_functions.h"

namespace pgshift {
namespace {

struct Rates {
  double seconds = 0;
  uint64_t generated = 0;
  uint64_t replayed = 0;
  double peak_generation = 0;  // bytes/s over one sample interval
  double peak_replay = 0;
};

Rates Measure(const std::vector<ReplicationSample>& s) {
  Rates r;
  for (size_t i = 1; i < s.size(); ++i) {
    double dt = s[i].at_seconds - s[i - 1].at_seconds;
    if (dt <= 0) continue;
    uint64_t gen = BytesBetween(s[i - 1].source_lsn, s[i].source_lsn);
    uint64_t rep = BytesBetween(*s[i - 1].target_replay_lsn, *s[i].target_replay_lsn);
    r.seconds += dt;
    r.generated += gen;
    r.replayed += rep;
    r.peak_generation = std::max(r.peak_generation, gen / dt);
    r.peak_replay = std::max(r.peak_replay, rep / dt);
  }
  return r;
}

bool AllReplaying(const std::vector<ReplicationSample>& samples) {
  for (const auto& s : samples) {
    if (!s.target_replay_lsn) return false;
  }
  return !samples.empty();
}

}  // namespace

CheckResult CheckWalRates(const std::vector<ReplicationSample>& samples) {
  CheckResult r{.name = "wal_rates",
                .query = std::string(window_sql::kSource) + " (source); " + window_sql::kTarget +
                         " (target), every sample interval"};
  if (!AllReplaying(samples)) {
    r.verdict = Verdict::kFail;
    r.evidence = {{"samples", samples.size()}, {"problem", "the target is not replaying WAL"}};
    r.advice = "the target must be a standby of the source (see replica_identity)";
    return r;
  }
  Rates m = Measure(samples);
  double gen_rate = m.seconds > 0 ? m.generated / m.seconds : 0;
  double replay_rate = m.seconds > 0 ? m.replayed / m.seconds : 0;
  auto lag = [](const ReplicationSample& s) {
    return static_cast<double>(BytesBetween(*s.target_replay_lsn, s.source_lsn));
  };
  double growth = lag(samples.back()) - lag(samples.front());
  // Lag moves by a few records between reads; only growth beyond this is falling behind.
  double slack = std::max(1024.0 * 1024.0, 0.1 * static_cast<double>(m.generated));
  r.evidence = {{"samples", samples.size()},
                {"seconds", m.seconds},
                {"generated_bytes", m.generated},
                {"replayed_bytes", m.replayed},
                {"generation_bytes_per_second", gen_rate},
                {"replay_bytes_per_second", replay_rate},
                {"peak_generation_bytes_per_second", m.peak_generation},
                {"peak_replay_bytes_per_second", m.peak_replay},
                {"lag_growth_bytes", growth}};
  if (samples.size() < 2) {
    r.verdict = Verdict::kWarn;
    r.advice = "the window held one sample; use a window of a few seconds to measure rates";
  } else if (replay_rate < gen_rate && growth > slack) {
    r.verdict = Verdict::kWarn;
    r.advice =
        "the target replays slower than the source writes WAL and fell further behind "
        "during the window; give the target faster storage/CPU, or migrate at a quieter "
        "time";
  }
  return r;
}

}  // namespace pgshift
