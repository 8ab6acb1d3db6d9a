// ChaosRound: one round of the chaos campaign. A fresh local source under load (pgbench
// TPC-B-like and a ledger writer through `pgshift proxy` with mutual TLS, a pg_recvlogical
// consumer on a test_decoding slot), one real migration driven by `pgshift migrate run`
// processes, the round's fault injected when the engine enters the plan's phase, and the
// round's ending requested the same way. Then the checker asks the servers themselves
// (see round_verdict.h). Everything the round starts is stopped before Run returns.
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "fault_plan.h"

namespace pgshift::chaos {

class CampaignTemplate;

// The application role every round's clients use, and how many ledger writers a round runs
// (the template's ledger tables are made for them).
inline constexpr const char* kAppUser = "app";
inline constexpr int kLedgerClients = 2;

struct RoundSettings {
  const CampaignTemplate* source_template = nullptr;  // made once per campaign
  std::string pgshift_binary;
  std::string dir;  // the round's own empty directory
  int pause_lease_ms = 4000;
  int cdc_timeout_ms = 10000;
  std::chrono::seconds end_deadline{150};  // from the cutover request to a final state
  const std::atomic<bool>* interrupted = nullptr;
};

// The round's outcome as JSON: the plan, what happened (phases seen, final state, seconds,
// "stages": the seconds each stage took, from the source's copy to the teardown),
// the checker's counts and its violations ({"kind", "evidence"}). A round that could not be
// set up has "setup_error" instead of a verdict. The round's directory is left for the caller
// to delete (nothing runs from it any more): deleting two clusters' files takes seconds on a
// loaded disk, which the caller can overlap with the next round.
nlohmann::json RunRound(const FaultPlan& plan, const RoundSettings& settings);

}  // namespace pgshift::chaos
