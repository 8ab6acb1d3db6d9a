// BackendMove: the part of a session that moves it to a new backend after a cutover's
// switch: the standby link opened ahead of the switch, the switch's connector task (read the
// old backend's settings, replay them and the prepared statements on the standby link or on
// a fresh login), and the old backend kept, idle, until traffic has resumed for a moment.
// It decides nothing about when to move (the session does, at a transaction boundary) and
// touches no socket the session's pump is using: the session detaches its backend first.
//
// Loop-thread only. The connector tasks report to the session by id through Worker::Post
// (Session::OnStandbyLogin, Session::OnBackendLogin), since the session may be gone by then.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "proxy/backend_login.h"
#include "proxy/route_table.h"
#include "proxy/session_registry.h"
#include "proxy/transport.h"

namespace pgshift::proxy {

class Worker;

class BackendMove {
 public:
  // --- The standby link: a second backend connection to the endpoint a cutover will
  // promote, so that the switch moves the session onto it instead of logging in while
  // traffic is held (a login costs 60-190 ms on a 2-core server busy promoting). Best
  // effort: without one the switch logs in as before.
  bool standby_opening() const { return standby_ == Standby::kOpening; }
  bool has_standby_link() const { return standby_ == Standby::kOpen; }
  bool HasStandbyLinkTo(const Endpoint& endpoint) const;
  // Opens a link for `job` (a login to the standby) on the connector pool, warming it up
  // once logged in; forgets an open link to elsewhere. Completion: Session::OnStandbyLogin.
  void OpenStandby(Worker& worker, uint64_t session_id, std::shared_ptr<BackendLogin> job);
  // The login's result; what the session reports (open or failed).
  SessionInfo::StandbyState StandbyLoginDone(Result<BackendLink> link, const Endpoint& endpoint);
  // Closes an open link (one being opened still completes).
  void DropStandby();

  // --- The switch: moves the session to `job`'s endpoint on the connector pool, on the
  // standby link if one is open to it (true: it was used), else by a login. `old`, the
  // session's idle backend if it had one, is asked for the session's settings first, then
  // handed back for retirement. Completion: Session::OnBackendLogin with `old`. Drops any
  // standby link.
  // The role the session runs as is read from `old` too (current_user, session_user) and
  // carried with a SET ROLE; the completion is kAborted, naming what could not be carried,
  // when the session authorization is not the login role, when `old` does not answer, or
  // when there is no `old` and `role_mentioned` (the session's SQL named a role).
  bool StartSwitch(Worker& worker, uint64_t session_id, std::shared_ptr<BackendLogin> job,
                   Transport old, bool role_mentioned);

  // --- The server ended the session's idle backend while its cluster was paused (the
  // cutover's fence): it logs in again when traffic resumes. Cleared by a login.
  void BackendLost() { backend_lost_ = true; }
  bool backend_lost() const { return backend_lost_; }
  void LoggedIn() { backend_lost_ = false; }

  // --- The old server's connection after a switch, kept idle until traffic has resumed for
  // a moment, then closed with a Terminate. Closing it while traffic is held would make the
  // old server reap its backend inside the held window (on a shared host the process exits
  // compete with the fence and the promotion), and the fence leaves these idle backends to
  // the paused proxy (PauseOutcome::held_backend_pids).
  // Each retired backend gets its own grace: the clock restarts for a second switch.
  void Retire(Transport old) {
    retired_ = std::move(old);
    retire_at_ = {};
  }
  bool has_retired_backend() const { return retired_.open(); }
  // Call once traffic flows (the cluster not paused): closes it after the grace, counted
  // from the first call.
  void CloseRetiredBackendAfterGrace(std::chrono::steady_clock::time_point now);
  void CloseRetiredBackendNow() { retired_.Close(); }

 private:
  enum class Standby { kNone, kOpening, kOpen };
  Standby standby_ = Standby::kNone;
  std::optional<BackendLink> standby_link_;  // when kOpen
  Endpoint standby_endpoint_;
  bool backend_lost_ = false;
  Transport retired_;
  std::chrono::steady_clock::time_point retire_at_{};
};

}  // namespace pgshift::proxy
