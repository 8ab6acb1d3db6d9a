// Replication sampled over a window: the source's WAL position and the target's replay
// position read side by side at a fixed interval, and the lag derived from them. Lag
// oscillates, so the checks judge the whole window, never one reading.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "checks/check.h"
#include "common/clock.h"
#include "pg/connection.h"
#include "pg/lsn.h"

namespace pgshift {

struct ReplicationSample {
  double at_seconds = 0;  // since the window started, on the Clock
  Lsn source_lsn;         // pg_current_wal_lsn() on the source, read first
  // pg_last_wal_replay_lsn() on the target, read just after; none when it is not a standby.
  std::optional<Lsn> target_replay_lsn;
  // Target's clock_timestamp() - pg_last_xact_replay_timestamp(); none before any replay.
  std::optional<double> xact_replay_age_seconds;
};

struct LagPoint {
  uint64_t bytes = 0;
  double seconds = 0;
};

namespace window_sql {
extern const char* const kSource;
extern const char* const kTarget;
}  // namespace window_sql

// Samples every options.sample_interval for options.window (at least one sample; the first
// at 0 s and the last at or after the window's end), telling options.progress the seconds
// left. Errors are the queries' (the endpoint named).
Result<std::vector<ReplicationSample>> SampleReplication(PgConnection& source, PgConnection& target,
                                                         const CheckOptions& options, Clock& clock);

// The lag at each sample; none for samples where the target had no replay position.
// bytes: source position minus replay position. seconds: 0 when the target had replayed
// everything the source had written; else an upper bound on the age of the oldest WAL it had
// not replayed: the time since the last sample at which the source had not yet written past
// the replay position, tightened by the age of the last replayed commit. When the target was
// behind since before the window began, the time observed if it caught up with that backlog
// within the window, else the age of the last replayed commit.
std::vector<std::optional<LagPoint>> LagPerSample(const std::vector<ReplicationSample>& samples);

}  // namespace pgshift
