// Demo: the main job, end to end on this host. A source cluster with data, continuous pgbench
// write load, a ledger application whose every acknowledged commit is remembered, and a real
// CDC consumer (pg_recvlogical) are migrated to a new cluster built by pg_basebackup; the
// report says what each phase took, what the checks found, the longest commit gap the
// application saw, and whether any commit or CDC row was lost.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "workflow/progress.h"

namespace pgshift::demo {

struct DemoOptions {
  std::string dir;    // work directory; a fresh temporary one when empty
  bool keep = false;  // leave servers running and files in place
  int pgbench_scale = 5;
  int pgbench_clients = 4;
  int ledger_clients = 2;
  int check_window_s = 3;
  // Applications reach the database through `pgshift proxy` over mutual TLS (the default);
  // false connects them directly, for comparison: the fence then ends their sessions.
  bool through_proxy = true;
};

// Runs the demo; the JSON report has at least status, phases, max_commit_gap_ms,
// failed_transactions, lost_commits, cdc_rows_missing, cdc_rows_duplicated.
Result<nlohmann::json> RunDemo(const DemoOptions& options, ProgressSink& progress);

// The report for people.
std::string DemoReportText(const nlohmann::json& report);

}  // namespace pgshift::demo
