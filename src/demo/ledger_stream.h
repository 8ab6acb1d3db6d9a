// LedgerStream: what a test_decoding consumer (pg_recvlogical) received for the demo ledger,
// and the check of that stream against the commits the application saw acknowledged
// (invariant I4: every change, in order, no gap; duplicates only where the consumer re-read).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "demo/commit_checker.h"

namespace pgshift::demo {

struct LedgerStream {
  std::vector<LedgerCommit> inserts;      // in the order received
  std::vector<std::string> fence_labels;  // contents of 'pgshift.fence' messages received
};

// Parses test_decoding text output. Only complete lines count (a consumer killed mid-write
// leaves a partial last line); lines that are not ledger inserts or fence messages are
// skipped.
LedgerStream ParseLedgerStream(std::string_view text);

struct DeliveryReport {
  uint64_t delivered = 0;       // ledger insert lines received
  uint64_t missing = 0;         // acknowledged commits never received
  uint64_t duplicated = 0;      // lines repeating an earlier (client, seq)
  uint64_t out_of_order = 0;    // a client's seq lower than one received before it, first time
  uint64_t unacknowledged = 0;  // received rows whose commit was never acknowledged (allowed)
  std::string first_problem;    // a human-readable example of the first problem, or ""
  bool ok() const { return missing == 0 && duplicated == 0 && out_of_order == 0; }
};

// `acknowledged` need not be sorted.
DeliveryReport CheckDelivery(const LedgerStream& stream,
                             const std::vector<LedgerCommit>& acknowledged);

}  // namespace pgshift::demo
