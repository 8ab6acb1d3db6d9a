// RoundVerdict: the checker of a chaos round, asked once the migration has ended and the load
// has stopped, against the servers and proxies themselves (never the engine's own account):
// final state within the deadline, exactly one writable cluster with every proxy routed to it
// unpaused (I1), every acknowledged ledger commit on it (I2), every ledger row exactly once and
// in order in the CDC consumer's output once it caught up on the writable cluster (I4), and
// nothing of the cutover left behind there (fence, pg_hba, unused slots, paused routes).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "around_writer.h"
#include "demo/cdc_consumer.h"
#include "demo/commit_checker.h"
#include "platform/local_instance.h"
#include "proxy_instance.h"
#include "workflow/migration_control.h"

namespace pgshift::chaos {

struct VerdictInputs {
  MigrationControl& control;
  std::string migration;
  LocalInstance* source = nullptr;
  std::string target_dir;
  std::string superuser_password;
  std::string app_user, app_password;
  std::string cluster;  // the proxies' cluster name
  std::string slot;     // the CDC consumer's slot
  const demo::CommitChecker& ledger;
  const AroundWriter* around = nullptr;  // null unless the round had one
  demo::CdcConsumer& consumer;
  int consumer_port = 0;  // where the consumer reads now
  std::string pgbench_output;
  std::vector<std::string> engine_outputs;
  bool ended_in_time = true;
  // `migrate run` exits that left the migration unfinished (not the fault's kill -9), each with
  // the engine's log lines; the round ran it once more, as an operator would.
  nlohmann::json engine_gave_up = nlohmann::json::array();
  // The round asked for a rollback and the store accepted the request (CanRollback held):
  // the migration must then end rolled back, not completed.
  bool rollback_accepted = false;
  // The consumer's server crashed under it: PostgreSQL persists a slot's position only at a
  // checkpoint, so the restarted pg_recvlogical re-reads from an older one. Duplicates are then
  // the consumer re-reading (allowed by I4), counted but not a violation.
  bool duplicates_allowed = false;
  // How long a proxy's pause lapses by itself: a proxy found paused is asked again after it.
  std::chrono::milliseconds pause_lease{4000};
  std::vector<ProxyInstance*> proxies;
  // The migration's recorded facts (the store's data column), for the evidence.
  nlohmann::json facts;
};

// {"final_phase", "completed", "rolled_back", "stuck", "lost_commits", "split_brain",
//  "cdc_missing", "cdc_duplicated", "cdc_out_of_order", "leftovers", "misrouted",
//  "failed_transactions", ..., "violations": [{"kind", "evidence"}]}
nlohmann::json JudgeRound(VerdictInputs& in);

}  // namespace pgshift::chaos
