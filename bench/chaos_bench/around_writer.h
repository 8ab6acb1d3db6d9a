// AroundWriter: the client that bypasses the data access layer (issue 15, I8). One thread per
// address holds a connection straight to the source or the target as the application role and
// inserts ledger rows as fast as the server takes them, reconnecting when refused. Its rows use
// client numbers of their own (kAroundClientBase + address index) in the demo ledger table, so
// that the CDC check and the lost-commit count see them beside the proxied ledger's rows.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "demo/commit_checker.h"
#include "pg/conninfo.h"

namespace pgshift::chaos {

inline constexpr int kAroundClientBase = 1000;

class AroundWriter {
 public:
  explicit AroundWriter(std::vector<ConnInfo> addresses);
  ~AroundWriter();
  void Stop();
  std::vector<demo::LedgerCommit> acknowledged() const;
  uint64_t refused() const { return refused_.load(); }
  // Acknowledged per address index (where each commit went).
  std::vector<uint64_t> acknowledged_per_address() const;

 private:
  void Run(int index, ConnInfo where);
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::vector<demo::LedgerCommit> acked_;
  std::vector<uint64_t> per_address_;
};

}  // namespace pgshift::chaos
