// The seeded draw of a round's fault, moment and ending (see fault_plan.h).
#include "fault_plan.h"

#include <random>

namespace pgshift::chaos {
namespace {

struct FaultEntry {
  Fault fault;
  std::string_view name;
};
constexpr FaultEntry kFaults[] = {
    {Fault::kKill9Engine, "kill9_engine"},
    {Fault::kSigstopEngine, "sigstop_engine"},
    {Fault::kKill9Proxy, "kill9_proxy"},
    {Fault::kProxyNoAck, "proxy_no_ack"},
    {Fault::kTargetCrash, "target_crash"},
    {Fault::kSourceCrashAfterFence, "source_crash_after_fence"},
    {Fault::kCdcFrozen, "cdc_frozen"},
    {Fault::kNetworkCut, "network_cut"},
    {Fault::kWriterAround, "writer_around"},
    {Fault::kDiskFull, "disk_full"},
};

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

template <typename T>
const T& Pick(std::mt19937_64& rng, const std::vector<T>& from) {
  return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

// The phases inside the held window, in the order the engine enters them.
const std::vector<std::string>& HeldPhases() {
  static const std::vector<std::string> p = {"fencing", "draining", "promoting", "slot_handover",
                                             "switching"};
  return p;
}

}  // namespace

std::string_view FaultName(Fault f) {
  for (const auto& e : kFaults) {
    if (e.fault == f) return e.name;
  }
  return "unknown";
}

std::string_view MomentName(Moment m) {
  switch (m) {
    case Moment::kBeforePause:
      return "before_pause";
    case Moment::kHeldWindow:
      return "held_window";
    case Moment::kVerification:
      return "verification";
    case Moment::kThroughout:
      return "throughout";
  }
  return "unknown";
}

std::string_view EndingName(Ending e) {
  switch (e) {
    case Ending::kCutover:
      return "cutover";
    case Ending::kRollbackBeforePromotion:
      return "rollback_before_promotion";
    case Ending::kRollbackAfterPromotion:
      return "rollback_after_promotion";
  }
  return "unknown";
}

std::optional<Fault> ParseFault(std::string_view name) {
  for (const auto& e : kFaults) {
    if (e.name == name) return e.fault;
  }
  return std::nullopt;
}

const std::vector<Fault>& AllFaults() {
  static const std::vector<Fault> all = [] {
    std::vector<Fault> v;
    for (const auto& e : kFaults) v.push_back(e.fault);
    return v;
  }();
  return all;
}

uint64_t RoundSeed(uint64_t campaign_seed, int round) {
  if (round == 0) return campaign_seed;
  return SplitMix64(campaign_seed ^ SplitMix64(static_cast<uint64_t>(round)));
}

FaultPlan DrawPlan(uint64_t round_seed, int round, const std::vector<Fault>& allowed,
                   std::optional<Fault> fault, int pause_lease_ms, int cdc_timeout_ms) {
  std::mt19937_64 rng(round_seed);
  FaultPlan p;
  p.round = round;
  p.seed = round_seed;
  // Drawn even when given, so that the rest of the draw does not depend on --quick.
  Fault drawn = Pick(rng, allowed);
  p.fault = fault.value_or(drawn);
  p.ending = Pick(rng, std::vector<Ending>{Ending::kCutover, Ending::kRollbackBeforePromotion,
                                           Ending::kRollbackAfterPromotion});
  std::string held = Pick(rng, HeldPhases());
  Moment m = Pick(
      rng, std::vector<Moment>{Moment::kBeforePause, Moment::kHeldWindow, Moment::kVerification});
  int coin = std::uniform_int_distribution<int>(0, 1)(rng);
  switch (p.fault) {
    case Fault::kKill9Engine:
    case Fault::kSigstopEngine:
      p.moment = m;
      p.trigger_phase = m == Moment::kBeforePause  ? "pausing"
                        : m == Moment::kHeldWindow ? held
                                                   : "verifying";
      // Longer than the pause lease: the proxies resume on their own meanwhile.
      p.hold_ms = pause_lease_ms + 2000;
      break;
    case Fault::kKill9Proxy:
      // "While paused": the fencing or the draining step runs with the sessions held.
      p.moment = Moment::kHeldWindow;
      p.trigger_phase = coin ? "fencing" : "draining";
      p.hold_ms = 300;
      break;
    case Fault::kProxyNoAck:
      p.moment = Moment::kBeforePause;
      p.trigger_phase = "pausing";
      break;
    case Fault::kTargetCrash:
      p.moment = Moment::kHeldWindow;
      p.trigger_phase = coin ? "draining" : "promoting";
      p.hold_ms = 1000;
      break;
    case Fault::kSourceCrashAfterFence:
      p.moment = Moment::kHeldWindow;
      p.trigger_phase = "draining";
      p.hold_ms = 2000;
      break;
    case Fault::kCdcFrozen:
      p.moment = Moment::kBeforePause;
      p.trigger_phase = "pausing";
      // Half of the rounds thaw within the CDC timeout, half after it.
      p.hold_ms = coin ? cdc_timeout_ms / 2 : cdc_timeout_ms + 5000;
      break;
    case Fault::kNetworkCut:
      // Inside the held window once the target matters (draining onwards), or while verifying;
      // half of the cuts heal within the drain timeout, half outlast it.
      p.moment = m == Moment::kVerification ? Moment::kVerification : Moment::kHeldWindow;
      p.trigger_phase = m == Moment::kVerification ? "verifying"
                        : held == "fencing"        ? "draining"
                                                   : held;
      p.hold_ms = coin ? 3000 : 12000;
      break;
    case Fault::kWriterAround:
      p.moment = Moment::kThroughout;
      break;
    case Fault::kDiskFull:
      // Filled once the replica is built, before the load and the cutover start; freed after
      // the hold: within the pause lease's reach of the cutover, or well into it.
      p.moment = Moment::kBeforePause;
      p.trigger_phase = "ready_for_cutover";
      p.hold_ms = coin ? 3000 : 8000;
      break;
  }
  return p;
}

}  // namespace pgshift::chaos
