// Phase: where a migration stands. The enum values are what the store persists (stable
// integers); PhaseName() makes the display string at the edge. IsLegalTransition() is the one
// table of legal moves.
#pragma once

#include <string_view>

namespace pgshift {

enum class Phase : int {
  kCreated = 1,          // spec recorded, nothing touched
  kReplicating = 2,      // target being built / brought to streaming
  kValidating = 3,       // checks as gates, lag judged over a window
  kReadyForCutover = 4,  // every gate green; waits for the operator unless auto-cutover
  kPausing = 5,          // data access layer holds sessions at transaction boundaries
  kFencing = 6,          // source fenced in layers
  kDraining = 7,         // target replays the final LSN; CDC consumers confirm it
  kPromoting = 8,        // the promotion is recorded before it is done (I3)
  kSlotHandover = 9,     // logical slots recreated on the target before any write
  kSwitching = 10,       // routes point at the target; sessions resume
  kVerifying = 11,       // data checksums at the fenced LSN, health against the baseline
  kCompleted = 12,
  kRollingBack = 13,
  kRolledBack = 14,
  kFailed = 15,  // stopped; the operator decides (rollback stays possible)
};

std::string_view PhaseName(Phase p);
bool ParsePhaseValue(int value, Phase* out);
// The inverse of PhaseName (records name phases by their display string, e.g. failed_in).
bool ParsePhaseName(std::string_view name, Phase* out);

bool IsTerminal(Phase p);
// True once the promotion has been recorded: rollback from here must route back to the source
// rather than simply unfence it.
bool IsAfterPromotionRecorded(Phase p);
bool IsLegalTransition(Phase from, Phase to);

// The externally visible state derived from the phase (see `migrate status --json`).
std::string_view StateName(Phase p, bool cutover_requested, bool auto_cutover);

}  // namespace pgshift
