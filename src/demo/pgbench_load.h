// PgbenchLoad: background TPC-B-like traffic from real pgbench, pointed at wherever the
// demo's application traffic goes. pgbench gives up when its connections die (as they do
// when a source is fenced), so a supervisor restarts it against endpoint() and adds up the
// totals of every run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"
#include "demo/endpoint.h"
#include "pg/conninfo.h"

namespace pgshift::demo {

// Totals of one pgbench run, read from its output.
struct PgbenchRunTotals {
  uint64_t transactions = 0;
  uint64_t failed = 0;
  uint64_t aborted_clients = 0;
  bool summary_seen = false;  // false: killed before its summary; transactions estimated
                              // from the --progress lines
};
PgbenchRunTotals ParsePgbenchOutput(std::string_view output);

class PgbenchLoad {
 public:
  struct Options {
    int clients = 4;
    std::chrono::seconds duration{600};  // total, across restarts
    std::string log_dir;                 // pgbench output files go here; required
  };
  struct Report {
    uint64_t transactions = 0;
    uint64_t failed = 0;           // failed transactions pgbench reported
    uint64_t aborted_clients = 0;  // clients pgbench gave up on (connection lost)
    uint64_t restarts = 0;         // runs started again after one ended early
    uint64_t failed_starts = 0;    // runs that could not connect at all
    bool estimated = false;        // some run was stopped before its summary
  };

  // pgbench -i -s scale: creates and fills the pgbench_* tables on `server`.
  static Status Init(const ConnInfo& server, int scale);
  // kInvalidArgument for clients < 1 or no log_dir.
  static Result<std::unique_ptr<PgbenchLoad>> Start(EndpointFn endpoint, Options options);
  ~PgbenchLoad();
  PgbenchLoad(const PgbenchLoad&) = delete;
  PgbenchLoad& operator=(const PgbenchLoad&) = delete;

  // Ends the current run and stops restarting. Idempotent.
  void Stop();
  Report report() const;

 private:
  PgbenchLoad(EndpointFn endpoint, Options options)
      : endpoint_(std::move(endpoint)), options_(std::move(options)) {}
  void Supervise();
  // One pgbench run until it ends or Stop(); returns its totals.
  PgbenchRunTotals RunOnce(int run, std::chrono::seconds length);

  EndpointFn endpoint_;
  Options options_;
  std::atomic<bool> stop_{false};
  std::thread supervisor_;
  mutable std::mutex mu_;
  Report report_;
};

}  // namespace pgshift::demo
