// Pause, renew, resume, switch and the lease watchdog.
#include "proxy/pause_controller.h"

#include <algorithm>

#include "common/log.h"
#include "proxy/session.h"

namespace pgshift::proxy {

using std::chrono::steady_clock;

PauseController::PauseController(ProxyContext& ctx) : ctx_(ctx) {
  lease_thread_ = std::thread([this] { WatchLeases(); });
}

PauseController::~PauseController() {
  {
    std::lock_guard<std::mutex> l(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  lease_thread_.join();
}

void PauseController::Release(ClusterControl& c) {
  if (!c.paused.load()) return;
  c.paused.store(false);
  ctx_.backend_pool.Reopen(c.name);
  ++c.generation;
  auto held =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - c.paused_since);
  c.metrics.Add(Metric::kPauseMillis, held.count());
  ctx_.KickCluster(c.name);
}

PauseOutcome PauseController::HeldOutcome(const ClusterControl& c) const {
  PauseOutcome out{.paused = true};
  const uint64_t current = c.route_version.load(std::memory_order_acquire);
  for (const auto& s : ctx_.sessions.OfCluster(c.name)) {
    out.sessions++;
    // A session still on an older route is about to move; its server is not the current one.
    int pid = s->backend_pid.load();
    if (!s->replication && pid > 0 && s->route_version.load() == current) {
      out.held_backend_pids.push_back(pid);
    }
  }
  return out;
}

std::optional<std::chrono::milliseconds> PauseDrainBudget(std::chrono::milliseconds deadline,
                                                          std::optional<int64_t> not_after_unix_ms,
                                                          int64_t now_unix_ms) {
  if (!not_after_unix_ms) return deadline;
  int64_t left = *not_after_unix_ms + kPauseNotAfterSkew.count() - now_unix_ms;
  if (left <= 0) return std::nullopt;
  return std::min(deadline, std::chrono::milliseconds(left));
}

Result<PauseOutcome> PauseController::Pause(const std::string& cluster,
                                            std::chrono::milliseconds deadline,
                                            std::chrono::milliseconds lease,
                                            std::optional<int64_t> not_after_unix_ms) {
  ClusterControl* c = ctx_.Cluster(cluster);
  if (!c) return NotFound("unknown cluster '" + cluster + "'");
  const int64_t now_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  std::optional<std::chrono::milliseconds> budget =
      PauseDrainBudget(deadline, not_after_unix_ms, now_unix_ms);
  if (!budget) {
    // Its sender stopped waiting for the answer long ago (and may have resumed traffic or
    // ended the migration): holding the sessions now would be an application pause for
    // nothing, for a whole lease.
    c->metrics.Add(Metric::kExpiredPausesRefused);
    PauseOutcome out{.expired = true};
    out.reason = "pause request of cluster " + cluster +
                 " expired before this proxy read it: " + "not_after_unix_ms " +
                 std::to_string(*not_after_unix_ms) + " is " +
                 std::to_string(now_unix_ms - *not_after_unix_ms) +
                 " ms before this proxy's clock (tolerance " +
                 std::to_string(kPauseNotAfterSkew.count()) +
                 " ms); nothing held. A frozen or slow proxy, or clocks out of sync";
    spdlog::warn("proxy: {}", out.reason);
    return out;
  }
  deadline = *budget;
  auto end = steady_clock::now() + deadline;
  uint64_t generation;
  {
    std::lock_guard<std::mutex> l(c->mu);
    // Until drained, the deadline bounds the pause; the watchdog enforces it too.
    if (!c->paused.load()) {
      c->paused.store(true);  // seq_cst: see cluster_control.h
      // No idle backend of the cluster survives the pause: the fence then has fewer sessions
      // to end, and none is handed out on the other side of a switch.
      ctx_.backend_pool.Suspend(cluster);
      ++c->generation;
      c->paused_since = steady_clock::now();
      c->lease_end = end;
      std::lock_guard<std::mutex> w(watch_mu_);
      ++pauses_started_;
      watch_cv_.notify_all();
    } else {
      c->lease_end = std::max(c->lease_end, end);
    }
    generation = c->generation;
  }
  auto undrained_at_deadline = [&] {
    PauseOutcome out{.reason = "sessions still in a transaction at the deadline"};
    for (const auto& s : ctx_.sessions.OfCluster(cluster)) {
      if (s->busy.load()) out.not_drained.push_back(s->id);
    }
    c->metrics.Add(Metric::kPauseFailures);
    return out;
  };
  for (;;) {
    bool drained = c->busy.load() == 0;
    std::lock_guard<std::mutex> l(c->mu);
    if (c->generation != generation || !c->paused.load()) {
      // Until drained, the lease ends at the drain deadline: a starved loop can find the
      // watchdog's release before its own deadline check. The sender still learns which
      // sessions held it.
      if (!drained && steady_clock::now() >= end) return undrained_at_deadline();
      return PauseOutcome{.reason = "released (resume or lease lapse) while draining"};
    }
    if (drained) {
      c->lease_end = steady_clock::now() + lease;
      c->metrics.Add(Metric::kPauses);
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() -
                                                                        c->paused_since);
      spdlog::info("proxy: cluster {} held after {} ms", cluster, took.count());
      return HeldOutcome(*c);
    }
    if (steady_clock::now() >= end) {
      PauseOutcome out = undrained_at_deadline();
      Release(*c);
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Status PauseController::Renew(const std::string& cluster, std::chrono::milliseconds lease) {
  ClusterControl* c = ctx_.Cluster(cluster);
  if (!c) return NotFound("unknown cluster '" + cluster + "'");
  std::lock_guard<std::mutex> l(c->mu);
  if (!c->paused.load()) {
    return FailedPrecondition("cluster " + cluster + " is not paused (its lease may have lapsed)");
  }
  c->lease_end = steady_clock::now() + lease;
  return Status::Ok();
}

Status PauseController::Resume(const std::string& cluster) {
  ClusterControl* c = ctx_.Cluster(cluster);
  if (!c) return NotFound("unknown cluster '" + cluster + "'");
  bool confirmed_now = false;
  {
    std::lock_guard<std::mutex> l(c->mu);
    // Confirmed before the release, so that no released session runs a transaction on the
    // route without its write-through (Session: fence_write_through_due_). Also when the pause
    // already lapsed: the explicit resume is what confirms, not the pause.
    ASSIGN_OR_RETURN(confirmed_now, ctx_.routes.Confirm(cluster));
    Release(*c);
  }
  if (confirmed_now) {
    spdlog::info("proxy: cluster {}: route version {} confirmed by a resume", cluster,
                 c->route_version.load());
    // After the release: the file's fsync is not the applications' wait. If it fails, a
    // restart loads the route unconfirmed (read-only on a fenced target until the next resume),
    // which is safe; the resume itself took effect.
    if (Status st = ctx_.routes.Persist(); !st.ok()) {
      spdlog::warn("proxy: cluster {}: the route's confirmation is not on disk: {}", cluster,
                   st.message());
    }
  }
  return Status::Ok();
}

Result<SwitchOutcome> PauseController::Switch(const std::string& cluster, const std::string& host,
                                              int port, uint64_t version) {
  ClusterControl* c = ctx_.Cluster(cluster);
  if (!c) return NotFound("unknown cluster '" + cluster + "'");
  ASSIGN_OR_RETURN(auto table, ctx_.routes.Switch(cluster, host, port, version));
  (void)table;
  c->route_version.store(version, std::memory_order_release);
  ctx_.backend_pool.RouteChanged(cluster, version);  // the pool follows the route
  c->metrics.Add(Metric::kSwitches);
  spdlog::info("proxy: cluster {} switched to {}:{} (version {})", cluster, host, port, version);
  if (ctx_.switch_lanes) {  // absent without a connector pool (the admin API alone)
    int moving = 0;
    for (const auto& s : ctx_.sessions.OfCluster(cluster)) moving += s->replication ? 0 : 1;
    ctx_.switch_lanes->Plan(moving);
  }
  ctx_.KickCluster(cluster);
  // Idle sessions move at once; wait a little so that a resume finds them on the new route.
  SwitchOutcome out{.version = version};
  auto end = steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    out.moved = out.pending = out.staying = 0;
    for (const auto& s : ctx_.sessions.OfCluster(cluster)) {
      if (s->replication)
        out.staying++;  // never moved: see replication_startup.h
      else
        (s->route_version.load() >= version ? out.moved : out.pending)++;
    }
    if (out.pending == 0 || steady_clock::now() >= end) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Result<PrepareOutcome> PauseController::Prepare(const std::string& cluster, const std::string& host,
                                                int port, std::chrono::milliseconds deadline) {
  if (!ctx_.Cluster(cluster)) return NotFound("unknown cluster '" + cluster + "'");
  Endpoint to = ctx_.routes.Get()->routes.at(cluster);  // the same TLS mode toward the backend
  to.host = host;
  to.port = port;
  // A route to come, that no resume confirmed: the links log in without writing through the
  // target fence (already up when the engine prepares), as a moved session's replay does.
  to.confirmed = false;
  // Marked before the workers see the request, so that the wait below cannot return before
  // they do; each session then says what it did (see Session::PrepareStandby).
  for (const auto& s : ctx_.sessions.OfCluster(cluster)) {
    if (!s->replication) s->standby.store(SessionInfo::kStandbyOpening);
  }
  ctx_.ForEachSessionOf(cluster, [to](Session& s) { s.PrepareStandby(to); });
  auto end = steady_clock::now() + deadline;
  for (;;) {
    PrepareOutcome out;
    int opening = 0;
    for (const auto& s : ctx_.sessions.OfCluster(cluster)) {
      if (s->replication) continue;
      out.sessions++;
      switch (s->standby.load()) {
        case SessionInfo::kStandbyOpen:
          out.open++;
          break;
        case SessionInfo::kStandbyFailed:
          out.failed++;
          break;
        case SessionInfo::kStandbyOpening:
          opening++;
          break;
        default:
          break;
      }
    }
    // A session that was busy or logging in when asked has no link; it logs in at the switch.
    if (opening == 0 || steady_clock::now() >= end) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void PauseController::WatchLeases() {
  while (!stopping_) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> w(watch_mu_);
      seen = pauses_started_;
    }
    auto now = steady_clock::now();
    bool any_paused = false;
    for (auto& [name, c] : ctx_.clusters) {
      std::lock_guard<std::mutex> l(c->mu);
      if (c->paused.load() && now >= c->lease_end) {
        spdlog::warn("proxy: pause of cluster {} lapsed (not renewed); resuming", name);
        c->metrics.Add(Metric::kLeaseLapses);
        Release(*c);
      }
      any_paused = any_paused || c->paused.load();
    }
    std::unique_lock<std::mutex> w(watch_mu_);
    // A pause that started after `seen` was read ends the wait at once.
    watch_cv_.wait_for(w, any_paused ? std::chrono::milliseconds(10) : std::chrono::seconds(1),
                       [&] { return stopping_.load() || pauses_started_ != seen; });
  }
}

}  // namespace pgshift::proxy
