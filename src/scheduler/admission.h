// Admission: whether one more migration may run, or one more cutover may begin, given what
// runs now and the fleet's limits (issue 13). A pure decision: the driver gathers the running
// set from the store, asks Admit, and either runs the candidate's turns or leaves it queued
// with the reason (which names the limit and its value, e.g. "team payments already runs 1
// migration (max_running_per_team = 1)").
//
// "Running" means started and not terminal; a migration waiting at the cutover gate still
// runs (it holds a replica and a slot on its source host). "In cutover" means from the pause
// to the end of the switch: the held window that max_cutovers_at_once keeps from overlapping.
#pragma once

#include <string>
#include <vector>

namespace pgshift::scheduler {

// 0 means unlimited, except max_cutovers_at_once whose default is 1.
struct Limits {
  int max_running = 0;                  // across the fleet
  int max_running_per_server = 0;       // driven by one `pgshift server`
  int max_running_per_team = 0;         // of one team's clusters
  int max_running_per_source_host = 0;  // whose source lives on one host
  int max_cutovers_at_once = 1;         // held windows at the same instant, fleet-wide
};

// A migration as admission sees it.
struct RunningMigration {
  std::string name;
  std::string team;
  std::string source_host;  // the host of the cluster's source ("" when unknown)
  std::string server;       // the server driving it ("" when none holds it yet)
  bool in_cutover = false;
};

struct Admission {
  bool admit = false;
  std::string reason;  // !admit: which limit and its value
};

// May `candidate` start running (kStart), on server `candidate.server`?  A candidate already
// in `running` (by name) is admitted: it was admitted before.
Admission AdmitStart(const RunningMigration& candidate,
                     const std::vector<RunningMigration>& running, const Limits& limits);
// May `candidate` (already running) begin its cutover?  A candidate already in cutover is
// admitted.
Admission AdmitCutover(const RunningMigration& candidate,
                       const std::vector<RunningMigration>& running, const Limits& limits);

// The host part of a libpq conninfo ("host=db1 port=5432 ..." -> "db1"; a URI's host;
// "localhost" when none or a socket directory: the source is on this host).
std::string SourceHostOf(const std::string& conninfo);

}  // namespace pgshift::scheduler
