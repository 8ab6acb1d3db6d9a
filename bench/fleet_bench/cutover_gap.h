// CutoverGap: the commit gap a migration's cutover caused, as opposed to the longest gap the
// ledger writer saw over its whole life (which on a shared 2-core machine also holds stalls of
// the machine during other clusters' setup and replica builds). Read after the migration from
// the ledger rows on the final primary (each row carries its transaction's start time; a
// transaction held by the proxy's pause starts after the resume) within the cutover window the
// store's events give: from the transition into `pausing` minus a margin to the transition out
// of the cutover (into `verifying`, `completed` or a rollback) plus the margin.
#pragma once

#include <string>

#include "common/status.h"
#include "pg/conninfo.h"

namespace pgshift::bench {

struct CutoverWindow {
  double from_s = 0;  // wall seconds (the store's event time)
  double until_s = 0;
};

// The window from the migration's events (JSON [[to_phase, at], ...] in event order), widened
// by `margin_s` on each side; kNotFound when it never entered `pausing`.
Result<CutoverWindow> CutoverWindowFromEvents(const std::string& events_json, double margin_s);

// The longest gap (ms) between consecutive ledger rows inside `window`, on `primary`.
Result<double> LedgerGapInWindow(const ConnInfo& primary, const CutoverWindow& window);

}  // namespace pgshift::bench
