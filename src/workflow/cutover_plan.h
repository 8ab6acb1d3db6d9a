// Cutover plan: the dry run of a migration's cutover. From what the migration recorded (its
// spec: router, platform, fence commands; its facts: slots, route version, checks, timings) and
// what earlier cutovers of the same cluster measured, it lists the exact numbered steps the
// cutover steps (src/workflow/*_step.cc) will take, the gates that are red now and the pause
// to expect, with where each figure came from. It reads nothing from any server and changes
// nothing: a pure function of its input, so that `GET .../plan` can be answered at any time.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "migration/migration_facts.h"
#include "store/migration_store.h"
#include "workflow/cutover_gates.h"

namespace pgshift {

// Figures used when nothing was measured for a cluster: the medians of `bench/cutover` on the
// project's machine (docs/measured.md, 2026-11-24): pause reaching every session ~10 ms,
// fencing 29 ms, promoting 61 ms; draining, slot handover and switching ~15 ms together.
struct DefaultCutoverTimings {
  static constexpr int64_t kPauseMs = 10;
  static constexpr int64_t kFenceMs = 29;
  static constexpr int64_t kPromoteMs = 61;
  static constexpr int64_t kRestMs = 15;
};

struct PlanStep {
  int n = 0;
  std::string action;  // pause, fence, final_lsn, drain, promote, recreate_slots, switch, ...
  std::string detail;
  nlohmann::json ToJson() const { return {{"n", n}, {"action", action}, {"detail", detail}}; }
};

struct PlannedSlot {
  std::string name, plugin, database;
  bool two_phase = false;
};

// Where a figure of the expected pause came from: "measured" (this migration's own cutover
// recorded it), "earlier_cutovers" (the median of the cluster's earlier cutovers) or "default"
// (DefaultCutoverTimings).
struct ExpectedPause {
  int64_t pause_ms = 0, fence_ms = 0, promote_ms = 0, rest_ms = 0, total_ms = 0;
  std::string pause_basis, fence_basis, promote_basis, rest_basis;
  // One word for all of them when they agree, else "mixed".
  std::string Basis() const;
  nlohmann::json ToJson() const;
};

struct CutoverPlan {
  std::string migration;
  std::string phase;
  std::vector<PlanStep> steps;
  std::string router_kind;           // "proxy", "file" or "none"
  std::string proxy_cluster;         // proxy: the cluster whose routes change
  std::vector<std::string> proxies;  // proxy: admin addresses, in the order they are paused
  std::vector<std::string> fence_layers;
  std::vector<PlannedSlot> slots;
  std::string slots_basis;  // "recorded_at_fence", "seen_by_validation" or "none_known"
  nlohmann::json route_change = nullptr;
  std::vector<RedGate> red_gates;
  ExpectedPause expected_pause;
  // {"migration","phase","steps","router","proxies","fence_layers","slots","slots_basis",
  //  "route_change","red_gates","expected_pause_ms"}. No secret: endpoints by host and port,
  // proxies by admin address, fence commands by whether they are set.
  nlohmann::json ToJson() const;
};

struct CutoverPlanInput {
  MigrationRecord record;  // spec and data as stored
  // Facts of earlier migrations of the same cluster that got past the switch, oldest first.
  std::vector<MigrationFacts> earlier_cutovers;
  // The latest lag reading known (e.g. the server's series), judged against max_lag_bytes.
  std::optional<uint64_t> latest_lag_bytes;
  // The highest route version handed out for the router's routes, when the caller can read it
  // without drawing one; the plan then names the next. Unknown: "the next version".
  std::optional<uint64_t> latest_route_version;
};

// kInvalidArgument when the record's spec or data cannot be read (naming which).
Result<CutoverPlan> PlanCutover(const CutoverPlanInput& input);

}  // namespace pgshift
