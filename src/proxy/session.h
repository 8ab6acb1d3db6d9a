// Session: one client connection and the backend connection it uses, on one worker.
// It owns the protocol decisions: startup and mTLS admission, handing back-end login to
// the task pool, forwarding with back-pressure, tracking transaction state, holding new
// work while its cluster is paused, and moving to a new backend after a switch.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "proxy/backend_login.h"
#include "proxy/byte_buffer.h"
#include "proxy/cancel_registry.h"
#include "proxy/carried_state.h"
#include "proxy/cluster_control.h"
#include "proxy/frame_decoder.h"
#include "proxy/session_registry.h"
#include "proxy/transport.h"
#include "proxy/worker.h"

namespace pgshift::proxy {

struct ProxyContext;
struct ClusterConfig;

class Session {
 public:
  Session(Worker& worker, uint64_t id, int client_fd, std::string peer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  uint64_t id() const { return id_; }
  void WatchClient() { worker_.Watch(client_.fd(), &client_tag_); }
  const std::string& cluster_name() const;
  // Socket readiness from epoll.
  void OnClientEvent(uint32_t events);
  void OnBackendEvent(uint32_t events);
  // The cluster's pause or route changed: continue held work, migrate if due.
  void OnKick();
  // Completion of a backend login started by this session.
  // `old`: the backend a switch moved the session from, to be retired once it succeeded.
  void OnBackendLogin(Result<BackendLink> link, Endpoint endpoint, Transport old = {});
  // Opens, in the background, a second backend connection to `endpoint` (the standby a
  // cutover will promote), so that the switch moves the session onto it instead of logging
  // in while traffic is held: a login costs 60-190 ms on a 2-core server busy promoting. A
  // connection opened during recovery writes once recovery ends. Best effort: without one
  // the switch logs in as before. Dropped when traffic resumes without a switch to it.
  void PrepareStandby(const Endpoint& endpoint);
  void OnStandbyLogin(Result<BackendLink> link, Endpoint endpoint);
  // Ends a session still without a login after `limit` (slow or stuck clients).
  void CheckLoginDeadline(std::chrono::steady_clock::time_point now, std::chrono::seconds limit);
  // After a switch the old server's connection is kept, idle, until traffic has resumed for a
  // moment, then closed (Terminate). Closing it while traffic is held would make the old
  // server reap its backend inside the held window (on a shared host the process exits
  // compete with the fence and the promotion), and the fence leaves these idle backends to
  // the paused proxy (PauseOutcome::held_backend_pids).
  void CloseRetiredBackend(std::chrono::steady_clock::time_point now);
  // Moves bytes until nothing more can move now.
  void Pump();
  // Batched sends (Worker::QueueSend). TakeSend: what to send now toward `to_backend`'s
  // peer, false if nothing any more; `more_after`: the session has input it could not take
  // for want of buffer space (or is closing), so it can continue once the send completes.
  bool TakeSend(bool to_backend, int& fd, const char*& data, size_t& len, bool& more_after);
  // `result`: bytes sent or -errno, as the send's completion reports it.
  void OnSendDone(bool to_backend, int result);

 private:
  enum class Phase {
    kStartup,
    kTlsHandshake,
    kStartupTls,
    kWaitResume,
    kConnecting,
    kReady,
    kMigrating,
    kClosing,
    kLingering,
    kClosed
  };

  struct ClientSide : FrameHandler {
    Session* s;
    bool WantsWhole(char type) const override { return type == 'Q' || type == 'P' || type == 'C'; }
    Verdict OnMessage(char type, std::string_view msg, bool complete) override {
      return s->OnClientMessage(type, msg, complete);
    }
  };
  struct BackendSide : FrameHandler {
    Session* s;
    bool WantsWhole(char type) const override { return type == 'Z'; }
    Verdict OnMessage(char type, std::string_view msg, bool complete) override {
      return s->OnBackendMessage(type, msg, complete);
    }
  };

  Verdict OnClientMessage(char type, std::string_view msg, bool complete);
  Verdict OnBackendMessage(char type, std::string_view msg, bool complete);

  bool PumpOnce();  // one round; true if anything moved
  // Proxy -> peer (the backend when `to_backend`, else the client): queued for the worker's
  // batched send, or written now. False when the session ended.
  bool Send(bool to_backend, bool& progress);
  void Sent(bool to_backend, size_t n);  // `n` bytes of the forwardable prefix are out
  void PeerLost(bool to_backend);        // a write found the peer gone
  void HandleStartupBytes();
  void Admit(std::map<std::string, std::string> params);
  // What a login to `endpoint` needs: this session's role, database and startup parameters.
  std::shared_ptr<BackendLogin> LoginJob(const Endpoint& endpoint) const;
  bool HasStandbyLinkTo(const Endpoint& endpoint) const;
  void StartLogin();
  void StartMigration();
  void Reject(const char* sqlstate, const std::string& message);
  // Sends a FATAL error (when the stream is at a message boundary) then closes.
  void End(const char* sqlstate, const std::string& message);
  void Linger();   // after the last words to the client: half-close, drain, then Close
  void Close();    // releases everything and retires the session
  void Release();  // closes sockets and deregisters (idempotent)
  bool Busy() const { return tx_ != 'I' || pending_sync_ > 0 || unsynced_ > 0; }
  void SetCountedBusy(bool busy);
  bool RouteStale() const;
  void DropBackendWhileIdle();
  bool ComposeToClient(const std::string& bytes);

  Worker& worker_;
  ProxyContext& ctx_;
  const uint64_t id_;
  // The server ended this idle session while its cluster was paused (the cutover's fence);
  // the session logs in again on its route when traffic resumes.
  bool backend_lost_ = false;
  std::optional<BackendLink> standby_;
  Transport retired_;  // the old server's connection after a switch, see CloseRetiredBackend
  std::chrono::steady_clock::time_point retire_at_{};  // set when traffic resumes
  Endpoint standby_endpoint_;
  bool standby_opening_ = false;
  // A logical replication session (replication=database): forwarded only, see
  // replication_startup.h. backend_said_error_: its server's last message was an error.
  bool replication_ = false;
  bool backend_said_error_ = false;
  const std::string peer_;
  Phase phase_ = Phase::kStartup;
  Transport client_, backend_;
  EpollTag client_tag_{EpollTag::kClient, this}, backend_tag_{EpollTag::kBackend, this};
  ByteBuffer to_backend_, to_client_;
  FrameDecoder client_dec_{FrameDecoder::Side::kFrontend},
      backend_dec_{FrameDecoder::Side::kBackend};
  ClientSide client_side_;
  BackendSide backend_side_;
  bool c_readable_ = true, c_writable_ = true, b_readable_ = false, b_writable_ = false;
  // A batched send is queued toward the backend / the client (one at a time per direction).
  bool to_backend_queued_ = false, to_client_queued_ = false;

  std::map<std::string, std::string> startup_params_;
  std::string identity_;
  ClusterControl* cluster_ = nullptr;
  const ClusterConfig* cluster_config_ = nullptr;
  char tx_ = 'I';
  int pending_sync_ = 0;  // Query/Sync/FunctionCall sent, ReadyForQuery not yet back
  int unsynced_ = 0;      // extended-protocol messages since the last Sync
  bool counted_busy_ = false;
  bool held_ = false;
  uint64_t route_version_ = 0;
  Endpoint endpoint_;
  CarriedState carried_;
  ProxyKey key_;
  bool key_issued_ = false;
  std::shared_ptr<SessionInfo> info_;
  ClusterMetrics* metrics_ = nullptr;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point lingering_since_{};
};

}  // namespace pgshift::proxy
