// Phase names and the table of legal moves.
#include "migration/phase.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace pgshift {

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kCreated:
      return "created";
    case Phase::kReplicating:
      return "replicating";
    case Phase::kValidating:
      return "validating";
    case Phase::kReadyForCutover:
      return "ready_for_cutover";
    case Phase::kPausing:
      return "pausing";
    case Phase::kFencing:
      return "fencing";
    case Phase::kDraining:
      return "draining";
    case Phase::kPromoting:
      return "promoting";
    case Phase::kSlotHandover:
      return "slot_handover";
    case Phase::kSwitching:
      return "switching";
    case Phase::kVerifying:
      return "verifying";
    case Phase::kCompleted:
      return "completed";
    case Phase::kRollingBack:
      return "rolling_back";
    case Phase::kRolledBack:
      return "rolled_back";
    case Phase::kFailed:
      return "failed";
  }
  return "unknown";
}

bool ParsePhaseValue(int value, Phase* out) {
  if (value < static_cast<int>(Phase::kCreated) || value > static_cast<int>(Phase::kFailed)) {
    return false;
  }
  *out = static_cast<Phase>(value);
  return true;
}

bool ParsePhaseName(std::string_view name, Phase* out) {
  for (int v = static_cast<int>(Phase::kCreated); v <= static_cast<int>(Phase::kFailed); ++v) {
    if (PhaseName(static_cast<Phase>(v)) == name) {
      *out = static_cast<Phase>(v);
      return true;
    }
  }
  return false;
}

bool IsTerminal(Phase p) { return p == Phase::kCompleted || p == Phase::kRolledBack; }

bool IsAfterPromotionRecorded(Phase p) { return p >= Phase::kPromoting && p <= Phase::kCompleted; }

bool IsLegalTransition(Phase from, Phase to) {
  using P = Phase;
  static constexpr std::pair<P, P> kForward[] = {
      {P::kCreated, P::kReplicating},
      {P::kReplicating, P::kValidating},
      {P::kValidating, P::kReadyForCutover},
      {P::kReadyForCutover, P::kValidating},
      {P::kReadyForCutover, P::kPausing},
      {P::kPausing, P::kFencing},
      {P::kFencing, P::kDraining},
      {P::kDraining, P::kPromoting},
      {P::kPromoting, P::kSlotHandover},
      {P::kSlotHandover, P::kSwitching},
      {P::kSwitching, P::kVerifying},
      {P::kVerifying, P::kCompleted},
      {P::kRollingBack, P::kRolledBack},
      {P::kFailed, P::kRollingBack},
      // A migration stopped by a failed gate is re-judged when the operator runs it again.
      {P::kFailed, P::kReplicating},
      {P::kFailed, P::kValidating},
      // ... or, stopped waiting for CDC consumers after the switch, waits for them again.
      {P::kFailed, P::kVerifying},
  };
  for (const auto& [f, t] : kForward) {
    if (f == from && t == to) return true;
  }
  // Until it is finished, any live migration can stop (failed) or be rolled back.
  if (to == P::kRollingBack || to == P::kFailed) {
    return from != P::kCompleted && from != P::kRolledBack && from != P::kRollingBack &&
           from != P::kFailed;
  }
  return false;
}

std::string_view StateName(Phase p, bool cutover_requested, bool auto_cutover) {
  switch (p) {
    case Phase::kCompleted:
      return "completed";
    case Phase::kRolledBack:
      return "rolled_back";
    case Phase::kFailed:
      return "failed";
    case Phase::kReadyForCutover:
      return (cutover_requested || auto_cutover) ? "running" : "waiting_for_cutover";
    default:
      return "running";
  }
}

}  // namespace pgshift
