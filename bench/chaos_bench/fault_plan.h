// FaultPlan: what one chaos round does, drawn from the round's seed so that a round can be
// replayed alone (`bench/chaos --seed ROUND_SEED --rounds 1 --faults KIND`): which fault, at
// which moment of the cutover, and how the migration is meant to end. The draw is the only
// source of randomness in a round; everything else follows from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgshift::chaos {

enum class Fault {
  kKill9Engine,            // kill -9 of `migrate run`, then start it again
  kSigstopEngine,          // SIGSTOP longer than the pause lease, then SIGCONT
  kKill9Proxy,             // kill -9 of the proxy while paused, restarted from its config
  kProxyNoAck,             // a second proxy route that never acknowledges the pause
  kTargetCrash,            // the target's postmaster stopped immediate, then started
  kSourceCrashAfterFence,  // the source's postmaster stopped immediate after the fence
  kCdcFrozen,              // pg_recvlogical SIGSTOPped across the cutover, SIGCONT later
  kNetworkCut,             // TCP to the target's port dropped on loopback, then restored
  kWriterAround,           // a writer straight to the source and target addresses
  kDiskFull,               // the target's file system filled while it replicates, then freed
};

// Where in the cutover the fault strikes.
enum class Moment { kBeforePause, kHeldWindow, kVerification, kThroughout };

// How the round asks the migration to end.
enum class Ending { kCutover, kRollbackBeforePromotion, kRollbackAfterPromotion };

std::string_view FaultName(Fault f);
std::string_view MomentName(Moment m);
std::string_view EndingName(Ending e);
std::optional<Fault> ParseFault(std::string_view name);
const std::vector<Fault>& AllFaults();

struct FaultPlan {
  int round = 0;
  uint64_t seed = 0;  // the round's own seed
  Fault fault = Fault::kKill9Engine;
  Moment moment = Moment::kBeforePause;
  Ending ending = Ending::kCutover;
  // The phase whose start triggers the fault (for the engine kill, the phase after whose
  // recording the engine kills itself).
  std::string trigger_phase;
  int hold_ms = 0;  // how long a stopped process stays stopped / a crashed one stays down
};

// The round's seed: the campaign seed itself for round 0 (so that `--seed S --rounds 1`
// with a printed round seed replays that round), a mix of both for the others.
uint64_t RoundSeed(uint64_t campaign_seed, int round);

// Draws round `round`'s plan. `fault` is given when the campaign cycles through the kinds
// (--quick); otherwise it is drawn from `allowed`.
FaultPlan DrawPlan(uint64_t round_seed, int round, const std::vector<Fault>& allowed,
                   std::optional<Fault> fault, int pause_lease_ms, int cdc_timeout_ms);

}  // namespace pgshift::chaos
