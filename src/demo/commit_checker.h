// CommitChecker: the demo's application. N writer threads run small TPC-B-like write
// transactions over libpq and remember every commit the server ACKNOWLEDGED, so that after
// the migration one can prove none was lost (invariant I2) and measure the longest pause
// the application saw. Each transaction updates the client's account row and inserts
// (client, seq) into pgshift_demo_ledger; seq increases by one per attempt, so a commit whose
// acknowledgement was lost shows up as an extra row, never as a duplicate key.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "demo/endpoint.h"
#include "pg/conninfo.h"

namespace pgshift::demo {

inline constexpr const char* kLedgerTable = "pgshift_demo_ledger";
inline constexpr const char* kAccountsTable = "pgshift_demo_accounts";

// Creates the demo tables if missing (idempotent).
Status CreateLedgerTables(const ConnInfo& server, int clients);

struct LedgerCommit {
  int client = 0;
  int64_t seq = 0;
  auto operator<=>(const LedgerCommit&) const = default;
};

class CommitChecker {
 public:
  struct Options {
    int clients = 4;
    std::chrono::milliseconds think{0};  // pause between a client's transactions
  };
  struct Report {
    uint64_t commits = 0;              // acknowledged
    uint64_t failed_transactions = 0;  // attempted, not acknowledged
    uint64_t reconnects = 0;
    // Longest time between two consecutive acknowledged commits across all clients, and
    // where in the run it happened.
    double max_commit_gap_ms = 0;
    std::string gap_at;
  };

  // Creates the tables on endpoint() and starts the writers. kInvalidArgument for
  // clients < 1; the first connection's error when the endpoint cannot be reached.
  static Result<std::unique_ptr<CommitChecker>> Start(EndpointFn endpoint, Options options);
  ~CommitChecker();
  CommitChecker(const CommitChecker&) = delete;
  CommitChecker& operator=(const CommitChecker&) = delete;

  // Stops the writers (each finishes its current transaction). Idempotent.
  void Stop();
  Report report() const;
  // Every acknowledged commit so far, ordered by (client, seq).
  std::vector<LedgerCommit> acknowledged() const;
  // After the migration (and Stop()): how many acknowledged commits are missing from
  // `final_endpoint`'s ledger (lost commits).
  Result<uint64_t> CountLostCommits(const ConnInfo& final_endpoint) const;

 private:
  CommitChecker(EndpointFn endpoint, Options options);
  void RunClient(int client, int64_t first_seq);
  void RecordCommit(int client, int64_t seq);

  EndpointFn endpoint_;
  Options options_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::chrono::steady_clock::time_point started_;

  mutable std::mutex mu_;  // guards everything below
  std::vector<LedgerCommit> acknowledged_;
  Report report_;
  std::optional<std::chrono::steady_clock::time_point> last_ack_;
  std::optional<LedgerCommit> last_commit_;
};

}  // namespace pgshift::demo
