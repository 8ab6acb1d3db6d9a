// The pause lease's bookkeeping, and the router decorator that feeds it.
#include "workflow/pause_lease.h"

#include "common/log.h"

namespace pgshift {
namespace {

long long Millis(Clock::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

void PauseLease::OnPaused(Clock::TimePoint sent, std::chrono::milliseconds lease) {
  std::lock_guard<std::mutex> l(mu_);
  confirmed_sent_ = sent;
  lease_ = lease;
  lost_.clear();
}

void PauseLease::OnRenewed(Clock::TimePoint sent, Clock::TimePoint answered,
                           std::chrono::milliseconds lease) {
  std::lock_guard<std::mutex> l(mu_);
  if (!confirmed_sent_ || !lost_.empty() || sent < *confirmed_sent_) return;
  // The proxy took the renewal somewhere between `sent` and `answered`; only an answer that
  // came before our lease ran out is known to have extended our pause, not a new one.
  if (answered - *confirmed_sent_ >= lease_) {
    lost_ = "a renewal was answered " + std::to_string(Millis(answered - *confirmed_sent_)) +
            " ms after the last confirmed one, past the " + std::to_string(lease_.count()) +
            " ms pause lease";
    return;
  }
  confirmed_sent_ = sent;
  lease_ = lease;
}

void PauseLease::OnRenewFailed(Clock::TimePoint sent, const std::string& why) {
  std::lock_guard<std::mutex> l(mu_);
  if (!confirmed_sent_ || !lost_.empty() || sent < *confirmed_sent_) return;
  lost_ = "a renewal failed: " + why;
}

void PauseLease::OnReleased() {
  std::lock_guard<std::mutex> l(mu_);
  confirmed_sent_.reset();
  lost_.clear();
}

Status PauseLease::HeldLocked(Clock::TimePoint now) const {
  if (!confirmed_sent_) return Unavailable("no pause confirmed by this process");
  if (!lost_.empty()) return Unavailable("the pause was lost: " + lost_);
  const Clock::Duration gap = now - *confirmed_sent_;
  if (gap >= lease_) {
    return Unavailable("no renewal confirmed for " + std::to_string(Millis(gap)) +
                       " ms, longer than the " + std::to_string(lease_.count()) +
                       " ms pause lease (was this process stopped?)");
  }
  return Status::Ok();
}

Status PauseLease::Held() const {
  std::lock_guard<std::mutex> l(mu_);
  return HeldLocked(clock_.Now());
}

std::optional<Clock::Duration> PauseLease::Age() const {
  std::lock_guard<std::mutex> l(mu_);
  if (!confirmed_sent_) return std::nullopt;
  return clock_.Now() - *confirmed_sent_;
}

std::chrono::milliseconds PauseLease::lease() const {
  std::lock_guard<std::mutex> l(mu_);
  return confirmed_sent_ ? lease_ : std::chrono::milliseconds(0);
}

Status PauseLeaseRouter::Pause(std::chrono::milliseconds deadline,
                               std::chrono::milliseconds lease) {
  const Clock::TimePoint sent = clock_.Now();
  Status st = inner_->Pause(deadline, lease);
  if (st.ok()) {
    pause_.OnPaused(sent, lease);
  } else {
    pause_.OnReleased();  // a failed pause leaves nothing paused (Router::Pause)
  }
  return st;
}

Status PauseLeaseRouter::Renew(std::chrono::milliseconds lease) {
  const Clock::TimePoint sent = clock_.Now();
  if (Status held = pause_.Held(); !held.ok()) {
    // Remember why, so that Held() keeps saying so even if the lease was extended by a
    // concurrent renewal's late answer (which OnRenewed refuses anyway).
    pause_.OnRenewFailed(sent, held.message());
    return held.Context(inner_->Describe() + ": not renewed");
  }
  Status st = inner_->Renew(lease);
  if (st.ok()) {
    pause_.OnRenewed(sent, clock_.Now(), lease);
    return pause_.Held().Context(inner_->Describe());
  }
  spdlog::warn("{}: pause renewal failed: {}", inner_->Describe(), st.message());
  pause_.OnRenewFailed(sent, st.message());
  return st;
}

Status PauseLeaseRouter::Resume() {
  Status st = inner_->Resume();
  // Whatever the answer, nothing is to be renewed any more: a proxy that did not hear the
  // resume lets its pause lapse.
  pause_.OnReleased();
  return st;
}

}  // namespace pgshift
