// Session: one client connection and the backend connection it uses, on one worker.
// It owns the protocol decisions: the startup packet and TLS, carrying out admission (a pure
// policy, admission.h), handing backend login to the task pool, tracking transaction state,
// holding new work while its cluster is paused, and deciding when to move to a new backend.
// Bytes move through its MessagePump (message_pump.h), which presents each message to it;
// the move itself (standby link, switch task, old backend) is its BackendMove
// (backend_move.h).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/backend_login.h"
#include "proxy/backend_move.h"
#include "proxy/backend_pool.h"
#include "proxy/cancel_registry.h"
#include "proxy/carried_state.h"
#include "proxy/cluster_control.h"
#include "proxy/connection_limits.h"
#include "proxy/frame_decoder.h"
#include "proxy/message_pump.h"
#include "proxy/session_registry.h"
#include "proxy/transport.h"
#include "proxy/wire_format.h"
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
  // The client connection's place under the proxy's connection caps: pending until admitted,
  // given back when the session closes.
  void HoldConnectionSlot(ConnectionLimits::Slot slot) { connection_slot_ = std::move(slot); }
  void WatchClient() { worker_.Watch(pump_.client().fd(), &client_tag_); }
  const std::string& cluster_name() const;
  // Socket readiness from epoll.
  void OnClientEvent(uint32_t events);
  void OnBackendEvent(uint32_t events);
  // The cluster's pause or route changed: continue held work, migrate if due.
  void OnKick();
  // Completion of a backend login started by this session.
  // `old`: the backend a switch moved the session from, to be retired once it succeeded.
  void OnBackendLogin(Result<BackendLink> link, Endpoint endpoint, Transport old = {});
  // Completion of StartFenceWriteThrough: `backend` is the session's backend, handed back.
  void OnFenceWriteThrough(Result<std::vector<std::pair<std::string, std::string>>> reported,
                           Transport backend);
  // Opens, in the background, a second backend connection to `endpoint` (the standby a
  // cutover will promote) for the switch to move onto (BackendMove). A connection opened
  // during recovery writes once recovery ends. Dropped when traffic resumes without a switch
  // to it.
  void PrepareStandby(const Endpoint& endpoint);
  void OnStandbyLogin(Result<BackendLink> link, Endpoint endpoint);
  // Ends a session still without a login after `limit` (slow or stuck clients).
  void CheckLoginDeadline(std::chrono::steady_clock::time_point now, std::chrono::seconds limit);
  // Closes the old server's connection kept since a switch once traffic has resumed for a
  // moment (BackendMove::Retire).
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
  // Where the session is. Before kReady: login (startup packet, TLS, admission, backend
  // login); kMoving: a switch is under way (BackendMove); kWritingThrough: its backend turns
  // read-only off on a fenced target (StartFenceWriteThrough); after: ending.
  enum class Stage {
    kStartup,
    kTlsHandshake,
    kStartupTls,
    kWaitResume,
    kConnecting,
    kReady,
    kMoving,
    kWritingThrough,
    kClosing,
    kLingering,
    kClosed
  };

  // Where the client's work stands, from the messages going by: a pause and a switch wait
  // until there is none (Busy() false: idle between transactions, nothing in flight).
  struct Work {
    char tx = wire::kTxIdle;  // the last ReadyForQuery's status
    int pending_sync = 0;     // Query/Sync/FunctionCall sent, ReadyForQuery not yet back
    int unsynced = 0;         // extended-protocol messages since the last Sync
    bool counted = false;     // counted in the cluster's `busy` (see cluster_control.h)
    bool Busy() const { return tx != wire::kTxIdle || pending_sync > 0 || unsynced > 0; }
  };

  struct ClientSide : FrameHandler {
    Session* s;
    bool WantsWhole(char type) const override {
      return type == wire::type::kQuery || type == wire::type::kParse || type == wire::type::kClose;
    }
    MessageAction OnMessage(char type, std::string_view msg, bool complete) override {
      return s->OnClientMessage(type, msg, complete);
    }
  };
  struct BackendSide : FrameHandler {
    Session* s;
    bool WantsWhole(char type) const override { return type == wire::type::kReadyForQuery; }
    MessageAction OnMessage(char type, std::string_view msg, bool complete) override {
      return s->OnBackendMessage(type, msg, complete);
    }
  };

  MessageAction OnClientMessage(char type, std::string_view msg, bool complete);
  MessageAction OnBackendMessage(char type, std::string_view msg, bool complete);

  bool PumpOnce();  // one round; true if anything moved
  // Proxy -> peer (the backend when `to_backend`, else the client): queued for the worker's
  // batched send, or written now. False when the session ended.
  bool Send(bool to_backend, bool& progress);
  void PeerLost(bool to_backend);  // a write found the peer gone
  void HandleStartupBytes();
  void Admit(std::map<std::string, std::string> params);
  // What a login to `endpoint` needs: this session's role, database and startup parameters.
  std::shared_ptr<BackendLogin> LoginJob(const Endpoint& endpoint) const;
  void StartLogin();
  void StartMove();
  // The session's route is the cluster's current one and an explicit resume confirmed it
  // (Endpoint::confirmed): only then may it write through the target fence.
  bool RouteConfirmed() const;
  // Runs the target fence's write-through on the session's idle backend before the new work.
  // kPipelined: written on the event loop itself, the backend's stream being quiet; the new
  // work follows it on the wire at once (a cutover's resume costs no round trip per session)
  // and its answer is read here up to its ReadyForQuery (ReadFenceWriteThroughAnswer: no
  // hand-off to another thread). kHeld: the session ended, or the statement went to the
  // connector pool (completion OnFenceWriteThrough) and the work waits. kNotStarted: the
  // backend is gone or has undecided input; the work goes as is.
  enum class WriteThrough { kNotStarted, kPipelined, kHeld };
  WriteThrough StartFenceWriteThrough();
  // The answer to the write-through written on the loop, read message by message (never past
  // its ReadyForQuery, so the pump reads whatever follows); true if anything was read.
  bool ReadFenceWriteThroughAnswer();
  // Refuses before login: logs which rule refused (escaped) and ends with `message`. The
  // caller counts the refusal under its own metric.
  void Reject(const char* sqlstate, const std::string& message);
  // Sends a FATAL error (when the stream is at a message boundary) then closes.
  void End(const char* sqlstate, const std::string& message);
  void Linger();  // after the last words to the client: half-close, drain, then Close
  void Close();   // releases everything and retires the session
  // The backend pool's key for this session's backends: cluster, role, database and the
  // client's other startup parameters.
  PoolKey PoolKeyOf() const;
  // Takes an idle backend from the pool for this session's login; false if none.
  bool LoginFromPool(const Endpoint& endpoint);
  // At the session's end: hands its backend to a reset task that puts it back in the pool when
  // the session left it idle, at a message boundary, on the current route and not paused;
  // else closes it (politely where the stream allows).
  void ReturnBackendToPool();
  void Release();  // closes sockets and deregisters (idempotent)
  bool Busy() const { return work_.Busy(); }
  void SetCountedBusy(bool busy);
  bool RouteStale() const;
  void DropBackendWhileIdle();
  void CloseBackend();        // unwatches and closes the backend connection, if open
  Transport DetachBackend();  // unwatches the backend connection and takes it from the pump
  void ReportStandby(SessionInfo::StandbyState state);

  Worker& worker_;
  ProxyContext& ctx_;
  const uint64_t id_;
  const std::string peer_;
  Stage stage_ = Stage::kStartup;
  MessagePump pump_;
  EpollTag client_tag_{EpollTag::kClient, this}, backend_tag_{EpollTag::kBackend, this};
  ClientSide client_side_;
  BackendSide backend_side_;
  BackendMove move_;
  // New work is held in the pump (the client is not read): a pause, or a switch under way.
  bool held_ = false;
  // The backend may be on a target-fenced server (I8) without the write-through: moved or
  // logged in while its route was not confirmed, or handed out by the pool after a reset. The
  // session writes through before its next new work once the route is confirmed; until then
  // its writes fail read-only there (a lapsed pause must not let commits reach the target
  // before its slots exist).
  bool fence_write_through_due_ = false;
  // The backend's default_transaction_read_only is the server's (a switch learned it, and no
  // client message went to the backend since): the write-through needs no pg_settings.
  bool fence_write_through_plain_ = false;
  // The write-through written on the loop: its answer read so far, and what it reported.
  bool fence_write_through_inline_ = false;
  std::string fence_answer_;
  std::vector<std::pair<std::string, std::string>> fence_reported_;
  Status fence_refused_;
  // A logical replication session (replication=database): forwarded only, see
  // replication_startup.h. backend_said_error_: its server's last message was an error.
  bool replication_ = false;
  bool backend_said_error_ = false;
  // Its identity has `replication = on`: SQL may go over it too (ReplicationMessageAllowed).
  bool replication_sql_allowed_ = false;

  std::map<std::string, std::string> startup_params_;
  std::string identity_;
  ClusterControl* cluster_ = nullptr;
  const ClusterConfig* cluster_config_ = nullptr;
  Work work_;
  uint64_t route_version_ = 0;
  Endpoint endpoint_;
  CarriedState carried_;
  ConnectionLimits::Slot connection_slot_;
  std::optional<ProxyKey> key_;  // once issued to the client
  std::shared_ptr<SessionInfo> info_;
  ClusterMetrics* metrics_ = nullptr;
  // What the current backend's login reported, kept for the next session the pool gives it to.
  std::vector<std::pair<std::string, std::string>> backend_parameters_;
  uint32_t backend_pid_ = 0, backend_secret_ = 0;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point lingering_since_{};
};

}  // namespace pgshift::proxy
