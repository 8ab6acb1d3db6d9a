// PgbenchLoad: the light application load bench/fleet puts on each cluster *through its proxy
// route*: PostgreSQL's own pgbench (TPC-B-like, one client, a fixed rate), run in back-to-back
// segments of a few seconds so that every segment ends with pgbench's summary (its failed
// transactions after --max-tries) and the load can stop between segments without killing
// pgbench and losing its count. A client that pgbench aborted (an error it does not retry, e.g.
// a lost connection) and a segment that could not connect are counted too: to the application
// each was a failed transaction.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/status.h"

namespace pgshift::bench {

struct PgbenchOptions {
  std::string host = "127.0.0.1";
  int port = 0;          // the proxy's listener
  std::string database;  // the proxy's route (cluster name)
  std::string user;      // the role the route logs in as (the proxy checks no identity)
  int rate_tps = 20;     // -R
  int segment_s = 5;     // -T of each segment
};

struct PgbenchTotals {
  uint64_t segments = 0;
  uint64_t transactions = 0;      // "number of transactions actually processed"
  uint64_t failed = 0;            // "number of failed transactions" (after retries)
  uint64_t retried = 0;           // "number of transactions retried"
  uint64_t aborted_clients = 0;   // segments pgbench ended with a client aborted
  uint64_t connect_failures = 0;  // segments that never ran (no connection, no summary)
  std::string last_error;         // the last error pgbench printed, for the report
  // What the application saw fail: failed + aborted clients + refused connections.
  uint64_t FailedForApplication() const { return failed + aborted_clients + connect_failures; }
  nlohmann::json ToJson() const;
};

class PgbenchLoad {
 public:
  // `pgbench -i -s 1` on the cluster directly (superuser `user` with `password`, which goes to
  // pgbench through PGPASSWORD, never its command line), then grants the tables to `app_role`.
  static Status Initialize(int port, const std::string& user, const std::string& password,
                           const std::string& app_role);

  static Result<std::unique_ptr<PgbenchLoad>> Start(const PgbenchOptions& options);
  ~PgbenchLoad();
  // Asks the load to end after the running segment (so many loads can end at once).
  void RequestStop() { stop_ = true; }
  // Ends after the running segment's summary; idempotent.
  void Stop();
  PgbenchTotals totals() const;

 private:
  explicit PgbenchLoad(PgbenchOptions o) : options_(std::move(o)) {}
  void Run();
  PgbenchOptions options_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  PgbenchTotals totals_;
  std::thread thread_;
};

}  // namespace pgshift::bench
