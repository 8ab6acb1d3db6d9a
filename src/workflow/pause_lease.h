// PauseLease: what this process knows of the routers' pause (docs/chaos.md finding 1). A proxy
// holds sessions only while its pause lease is renewed; a renewal that fails, or an engine that
// renewed nothing for longer than the lease (a frozen process: SIGSTOP, a stalled VM), means
// the sessions may have run in between. The engine must then pause again before the next
// cutover step acts (and, after the promotion, resume traffic on the target only from a pause
// confirmed again), so it needs to know, at any instant, whether the pause is still confirmed.
//
// The answer of a renewal is not enough: a process that wakes after the lease ran out may see
// its first renewal succeed against a pause somebody else took since. So the steady-clock gap
// counts too: a confirmation holds from the moment its request was *sent* (the proxy started
// its lease later than that) for the lease's length, and a renewal answered after that has run
// out confirms nothing.
//
// PauseLeaseRouter is the Router decorator that reports every pause, renewal and resume to a
// PauseLease, and refuses to renew a pause it no longer holds (renewing it could extend
// someone else's).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "workflow/router.h"

namespace pgshift {

class PauseLease {
 public:
  explicit PauseLease(const Clock& clock) : clock_(clock) {}
  PauseLease(const PauseLease&) = delete;
  PauseLease& operator=(const PauseLease&) = delete;

  // Every router acknowledged a pause sent at `sent`: held until `sent + lease` unless renewed.
  void OnPaused(Clock::TimePoint sent, std::chrono::milliseconds lease);
  // Every router acknowledged a renewal sent at `sent` and answered at `answered`. Extends the
  // pause only when the answer came while the previous confirmation still held.
  void OnRenewed(Clock::TimePoint sent, Clock::TimePoint answered, std::chrono::milliseconds lease);
  // A renewal sent at `sent` failed: the pause is lost, unless a newer pause was confirmed
  // since that renewal was sent.
  void OnRenewFailed(Clock::TimePoint sent, const std::string& why);
  // The pause was released (a resume) or never taken (a pause that failed): nothing is held.
  void OnReleased();

  // Ok while the sessions are known to be held now: a pause confirmed in this process, not
  // reported lost, and its last confirmation sent less than the lease ago. Otherwise
  // kUnavailable saying why (never paused by this process, a failed renewal, or the gap).
  Status Held() const;
  // How long ago the last confirmation was sent; nullopt when none holds.
  std::optional<Clock::Duration> Age() const;
  // The lease of the last confirmed pause (zero when none).
  std::chrono::milliseconds lease() const;

 private:
  Status HeldLocked(Clock::TimePoint now) const;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::optional<Clock::TimePoint> confirmed_sent_;  // the last confirmation's send time
  std::chrono::milliseconds lease_{0};
  std::string lost_;  // non-empty: why the confirmed pause is known lost
};

class PauseLeaseRouter : public Router {
 public:
  PauseLeaseRouter(std::unique_ptr<Router> inner, PauseLease& pause, const Clock& clock)
      : inner_(std::move(inner)), pause_(pause), clock_(clock) {}

  Status Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) override;
  std::set<int> HeldBackends() const override { return inner_->HeldBackends(); }
  // Refused (kUnavailable, nothing sent) when the pause is not held any more: see Held().
  Status Renew(std::chrono::milliseconds lease) override;
  Status Switch(const Endpoint& to, uint64_t version) override {
    return inner_->Switch(to, version);
  }
  Status Resume() override;
  std::string Describe() const override { return inner_->Describe(); }
  std::string RouteKey() const override { return inner_->RouteKey(); }
  bool HoldsSessionsAcrossSwitch() const override { return inner_->HoldsSessionsAcrossSwitch(); }
  Status PrepareSwitch(const Endpoint& to) override { return inner_->PrepareSwitch(to); }
  Result<std::vector<std::string>> BackendRoles() override { return inner_->BackendRoles(); }
  Result<bool> MayHaveServedOn(const Endpoint& to) override { return inner_->MayHaveServedOn(to); }

 private:
  std::unique_ptr<Router> inner_;
  PauseLease& pause_;
  const Clock& clock_;
};

}  // namespace pgshift
