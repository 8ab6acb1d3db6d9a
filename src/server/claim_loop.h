// ClaimLoop: how `pgshift server` drives migrations (issue 13). About once a second (and at
// once when woken by a start or cutover request) it reads the fleet from the store, ticks the
// campaigns, admits queued migrations through the limits (scheduler/admission.h), and hands
// each admitted migration whose runner lease is free, expired or its own to a small pool of
// worker threads, which run one engine turn (Engine::Turn) at a time. Turns of one migration
// never overlap; a migration moving on is turned again at once, one waiting at the gate on
// the next tick, one held by another server once its lease could have lapsed.
//
// Cutovers: a migration at the gate whose cutover was requested (by the operator, by arming,
// or auto_cutover) gets its next turn only when max_cutovers_at_once and its team's cutover
// window and the freezes allow one; until then it waits, and says why in its control object
// ("waiting") and, once per change, in a migration note. A queued migration says so the same
// way (which limit, its value).
//
// What is running is read from the store (control "admitted", "cutover_admitted" and the
// phase), so the limits hold across restarts and across servers: a tick first judges from the
// fleet as it read it (cheap, and enough to leave most of a long queue waiting), then decides a
// migration it would admit, or a cutover it would let begin, again inside the store's
// admission lock (ControlStore::AdmitUnderFleetLock) and writes the admission there, so two
// servers admitting at the same instant never together exceed a limit.
//
// Takeover: a migration another server holds is tried again once its lease could have lapsed
// (within a tick of the expiry the store answered), and at once when its holder is a process
// of this host that is gone (RunnerLiveness: kill(pid, 0) and the /proc start time), so a
// server killed on this host loses its migrations within a tick, not a TTL.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/campaign_runner.h"
#include "server/scheduler_config.h"
#include "server/server_context.h"
#include "workflow/engine.h"

namespace pgshift::server {

class ClaimLoop {
 public:
  ClaimLoop(ServerContext& ctx, SchedulerConfig config, EngineSeams seams = {});
  ~ClaimLoop();  // Stop()
  ClaimLoop(const ClaimLoop&) = delete;
  ClaimLoop& operator=(const ClaimLoop&) = delete;

  // Starts the tick thread and the workers.
  void Start();
  // Ticks now rather than within the second. `name` (may be empty): a migration the operator
  // just acted on; a failed one gets turns again (its gates re-judged), as `migrate run` would.
  void Wake(const std::string& name);
  // How often the loop ticks when nothing wakes it (default 1 s).
  void SetTickPeriod(std::chrono::milliseconds period) { tick_period_ms_ = period.count(); }
  // Admitted and driven by this server (its lease held, or a turn queued or running).
  bool Driving(const std::string& name) const;
  // How many migrations this server drives now.
  int DrivingCount() const;
  // Stops ticking, lets each worker finish its turn, releases every lease. Idempotent.
  void Stop();

  // One pass without threads (unit tests): campaigns, admission, cutover checks; returns the
  // migrations it would hand to the workers.
  std::vector<std::string> TickOnce();
  const std::string& owner() const { return owner_; }

 private:
  class Progress;
  class CampaignActions;
  void TickLoop();
  void WorkLoop();
  void Enqueue(const std::string& name);
  void AfterTurn(const std::string& name, const Result<TurnOutcome>& turn);
  // Records why `name` waits (control "waiting" and, when it changed, a note); "" clears it.
  void SetWaiting(const std::string& name, const std::string& why, const nlohmann::json& control);
  ProgressSink* ProgressFor(const std::string& name);

  ServerContext& ctx_;
  const SchedulerConfig config_;
  std::string owner_;
  const RunnerLiveness* liveness_;
  std::unique_ptr<CampaignActions> campaign_actions_;
  std::unique_ptr<scheduler::CampaignRunner> campaigns_;
  std::unique_ptr<ProgressSink> silent_;  // the engine's own sink (each migration has one)
  std::unique_ptr<Engine> engine_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_, tick_cv_;
  bool stopping_ = false;
  bool wake_ = false;
  std::deque<std::string> queue_;
  std::set<std::string> queued_or_turning_;
  std::set<std::string> driving_;  // this server holds their leases
  std::set<std::string> kicked_;   // failed, started again by the operator
  // Held by another server: its owner string, and when to try again unless it is found dead.
  struct Held {
    double until = 0;
    std::string holder;
  };
  std::map<std::string, Held> held_;
  std::map<std::string, std::unique_ptr<Progress>> progress_;
  std::thread ticker_;
  std::vector<std::thread> workers_;
  std::atomic<bool> started_{false};
  std::atomic<int64_t> tick_period_ms_{1000};
};

}  // namespace pgshift::server
