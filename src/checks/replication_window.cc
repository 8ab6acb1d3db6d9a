// Sampling loop and lag arithmetic for the replication window.
#include "checks/replication_window.h"

#include <algorithm>

namespace pgshift {

namespace window_sql {
const char* const kSource = "SELECT pg_current_wal_lsn()::text AS lsn";
const char* const kTarget =
    "SELECT pg_last_wal_replay_lsn()::text AS replay_lsn, "
    "extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS xact_age";
}  // namespace window_sql

namespace {

Result<ReplicationSample> TakeSample(PgConnection& source, PgConnection& target, double at) {
  ReplicationSample s;
  s.at_seconds = at;
  ASSIGN_OR_RETURN(std::string lsn, source.QueryValue(window_sql::kSource));
  ASSIGN_OR_RETURN(s.source_lsn, Lsn::Parse(lsn));
  ASSIGN_OR_RETURN(PgResult r, target.Query(window_sql::kTarget));
  if (r.rows() == 1) {
    if (auto replay = r.GetOpt(0, "replay_lsn")) {
      ASSIGN_OR_RETURN(s.target_replay_lsn, Lsn::Parse(*replay));
    }
    if (r.GetOpt(0, "xact_age")) s.xact_replay_age_seconds = r.GetDouble(0, "xact_age");
  }
  return s;
}

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Result<std::vector<ReplicationSample>> SampleReplication(PgConnection& source, PgConnection& target,
                                                         const CheckOptions& options,
                                                         Clock& clock) {
  std::vector<ReplicationSample> samples;
  const Clock::TimePoint start = clock.Now();
  const double window = Seconds(options.window);
  for (int i = 1;; ++i) {
    double at = Seconds(clock.Now() - start);
    ASSIGN_OR_RETURN(ReplicationSample s, TakeSample(source, target, at));
    samples.push_back(s);
    if (at >= window) break;
    if (options.progress) options.progress("sampling replication", window - at);
    Clock::TimePoint next = start + i * options.sample_interval;
    Clock::TimePoint now = clock.Now();
    if (next > now) clock.SleepFor(next - now);
  }
  if (options.progress) options.progress("sampling replication", 0);
  return samples;
}

namespace {

// Whether the target replayed `position` at some sample of the window.
bool ReplayedLater(const std::vector<ReplicationSample>& samples, Lsn position) {
  for (const auto& s : samples) {
    if (s.target_replay_lsn && *s.target_replay_lsn >= position) return true;
  }
  return false;
}

double SecondsBehind(const std::vector<ReplicationSample>& samples, size_t i) {
  const ReplicationSample& s = samples[i];
  Lsn replay = *s.target_replay_lsn;
  // The first sample at which the source had written past `replay`.
  size_t j = 0;
  while (j < i && samples[j].source_lsn <= replay) ++j;
  if (j > 0) {
    double bound = s.at_seconds - samples[j - 1].at_seconds;
    if (s.xact_replay_age_seconds) bound = std::min(bound, *s.xact_replay_age_seconds);
    return bound;
  }
  // Behind since before the window began, so the samples cannot date the backlog. If the
  // target replays it within the window it was no stuck replica (often a background record
  // written just before the first reading, on a source idle for minutes, where the age of the
  // last replayed commit would be absurd): count the time observed. Otherwise the age of the
  // last replayed commit is the best bound there is.
  double observed = s.at_seconds - samples[0].at_seconds;
  if (ReplayedLater(samples, samples[0].source_lsn) || !s.xact_replay_age_seconds) {
    return observed;
  }
  return std::max(observed, *s.xact_replay_age_seconds);
}

}  // namespace

std::vector<std::optional<LagPoint>> LagPerSample(const std::vector<ReplicationSample>& samples) {
  std::vector<std::optional<LagPoint>> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    const ReplicationSample& s = samples[i];
    if (!s.target_replay_lsn) {
      out.push_back(std::nullopt);
      continue;
    }
    LagPoint p;
    p.bytes = BytesBetween(*s.target_replay_lsn, s.source_lsn);
    if (p.bytes > 0) p.seconds = std::max(0.0, SecondsBehind(samples, i));
    out.push_back(p);
  }
  return out;
}

}  // namespace pgshift
