// LagSampler: reads, every few seconds, how far each migration's target is behind its source
// (source pg_current_wal_lsn() minus target replay position) and how fast the source writes
// WAL, into the MetricSeries the migration's JSON shows and the arming ticker judges the lag
// gate with. The engine reports no lag while it waits at the gate, so without this the last
// hour's chart would be empty exactly when an operator looks at it before a cutover.
//
// Only migrations before the cutover are sampled (replicating, validating, ready for cutover):
// `list` is asked on every tick and returns them with their connection details (passwords
// resolved); the connections of a migration that is no longer listed are closed at once, so
// the sampler never holds a session on a source the cutover is about to fence. A connection
// that fails is dropped and opened again on a later tick; errors are logged by endpoint label,
// never with a password.
//
// A tick samples its migrations concurrently, a few at a time (SetConcurrency, default 4
// threads for the tick), and each cluster within a timeout (SetPerClusterTimeout, default 5 s:
// libpq's connect_timeout and the session's statement_timeout, unless the conninfo sets its
// own), so that with hundreds of migrations one slow or unreachable cluster delays only itself
// and at most one of the threads, not every sample after it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "migration/migration_spec.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "server/metric_series.h"

namespace pgshift::server {

struct SampledMigration {
  std::string name;
  ConnInfo source;
  ConnInfo target;
};

struct LagReading {
  uint64_t lag_bytes = 0;
  uint64_t source_wal_position = 0;
};

// One reading over open connections.
Result<LagReading> ReadLag(PgConnection& source, PgConnection& target);
// One reading over connections opened for it (passwords resolved from the spec's references)
// and closed before it returns.
Result<LagReading> ReadLagNow(const MigrationSpec& spec);

class LagSampler {
 public:
  using ListFn = std::function<std::vector<SampledMigration>()>;
  // `sampled`, when set, is called after a tick that recorded a sample (to wake streams).
  LagSampler(MetricSeries& series, Clock& clock, ListFn list,
             std::chrono::milliseconds every = std::chrono::seconds(5),
             std::function<void()> sampled = {});
  ~LagSampler();  // Stop()
  LagSampler(const LagSampler&) = delete;
  LagSampler& operator=(const LagSampler&) = delete;

  void Start();
  void Stop();
  // How many migrations one tick samples at once (at least 1). Set before Start().
  void SetConcurrency(int threads) { concurrency_ = std::max(1, threads); }
  // How long one cluster may take to connect and to answer (whole seconds, at least 2: libpq's
  // connect_timeout has that granularity and minimum). Set before Start().
  void SetPerClusterTimeout(std::chrono::seconds timeout) { per_cluster_timeout_ = timeout; }
  // One tick: samples every listed migration, closes the connections of the others.
  void SampleOnce();
  // Closes `migration`'s connections now (or right after a reading in flight) and samples it
  // no more until a later tick's list has left it out once: called when its cutover starts,
  // so that the fence finds no session of the sampler on the source. Never waits for I/O.
  void Forget(const std::string& migration);

 private:
  struct Connections {
    std::optional<PgConnection> source, target;
    bool in_use = false;     // a tick reads over them now (outside open_mu_)
    bool forgotten = false;  // Forget() came meanwhile: closed once the reading ends
  };
  // Samples one migration; false when nothing was recorded. Never throws.
  bool SampleOne(const SampledMigration& m);
  bool SampleOneGuarded(const SampledMigration& m);
  // `info` with the per-cluster timeouts, where it sets none of its own.
  ConnInfo Bounded(const ConnInfo& info) const;
  void Loop();

  MetricSeries& series_;
  Clock& clock_;
  ListFn list_;
  std::chrono::milliseconds every_;
  std::function<void()> sampled_;
  int concurrency_ = 4;
  std::chrono::seconds per_cluster_timeout_{5};
  std::mutex open_mu_;  // guards open_ and forgotten_; never held across I/O
  std::map<std::string, std::shared_ptr<Connections>> open_;
  std::set<std::string> forgotten_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgshift::server
