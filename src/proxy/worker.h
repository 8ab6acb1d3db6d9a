// Worker: one event loop thread (epoll, edge-triggered) with its own SO_REUSEPORT listener;
// the kernel spreads new connections over the workers and a session stays on the worker
// that accepted it, so session state needs no locks. Other threads talk to a worker only
// through Post(), which queues a function and wakes the loop through an eventfd.
//
// With io_engine = io_uring, sends on plain sockets are not made where a session decides
// them: the session queues them (QueueSend) and at the end of the loop's turn they are
// submitted together with the next wait for readiness (an IORING_OP_EPOLL_WAIT on the same
// epoll set) in ONE io_uring_enter, instead of one sendto each plus an epoll_wait. The sends
// carry MSG_DONTWAIT, so each completes (or fails with EAGAIN) inside that call: the kernel
// never holds a session's buffer beyond it.
//
// Accepting is bounded (ConnectionLimits): a connection over max_client_connections or over
// its address's pending-handshake cap is answered 53300 and closed at once. The listener is
// level-triggered, so when accept fails for want of file descriptors (EMFILE, ENFILE) the
// worker stops watching it for a moment (kAcceptBackoff) instead of being woken again at
// once, forever.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "proxy/connection_limits.h"

struct io_uring;

namespace pgshift::proxy {

struct ProxyContext;
class Session;

// What an epoll event refers to.
struct EpollTag {
  enum Kind { kListener, kWake, kClient, kBackend } kind;
  Session* session = nullptr;
};

class Worker {
 public:
  Worker(ProxyContext& ctx, int index, ConnectionLimits& limits);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds the shared listening address (SO_REUSEPORT) and starts the loop thread.
  Status Start(const std::string& host, int port);
  void Stop();
  // Runs `fn` on this worker's thread, soon.
  void Post(std::function<void(Worker&)> fn);

  // Loop-thread only.
  Session* Find(uint64_t id);
  void Watch(int fd, EpollTag* tag);
  void Unwatch(int fd);
  // The session is finished: it is destroyed after the current batch of events.
  void Retire(Session* s);
  // True when plain-socket sends are batched through the ring (io_engine = io_uring and the
  // ring could be set up).
  bool batched_sends() const { return ring_ != nullptr; }
  // Sends the session's forwardable bytes toward `to_backend`'s peer at the end of this turn;
  // the result comes back through Session::OnSendDone. Once per direction until then.
  void QueueSend(Session* s, bool to_backend);
  ProxyContext& ctx() { return ctx_; }
  std::unordered_map<uint64_t, std::unique_ptr<Session>>& sessions() { return sessions_; }

 private:
  void Run();
  void RunEpoll();
  void RunRing();
  bool SetUpRing();  // on the loop thread: the ring has a single issuer
  // Prepares the queued sends; clears `may_block` if the loop must not sleep after them.
  unsigned FlushSends(bool& may_block);
  void Dispatch(const epoll_event* events, int n);
  void Sweep();
  void Accept();
  // Answers a refused connection 53300 (best effort) and closes it; logs at most once a second.
  void Refuse(int fd, const char* ip, ConnectionLimits::Refusal why);
  // Out of file descriptors: unwatch the listener until `kAcceptBackoff` has passed.
  void PauseAccepting(int error);
  void ResumeAcceptingWhenDue(std::chrono::steady_clock::time_point now);
  void RunPosted();

  ProxyContext& ctx_;
  int index_;
  ConnectionLimits& limits_;
  bool accept_paused_ = false;
  std::chrono::steady_clock::time_point accept_resume_at_{};
  std::chrono::steady_clock::time_point accept_pause_logged_at_{};
  // Refusals since the last log line (logged at most once a second, not per connection).
  uint64_t refusals_unlogged_ = 0;
  std::chrono::steady_clock::time_point refusal_logged_at_{};
  // Sessions closed since freed memory was last given back to the system (see Sweep).
  uint64_t closed_since_trim_ = 0;
  int epoll_fd_ = -1, listen_fd_ = -1, wake_fd_ = -1;
  EpollTag listen_tag_{EpollTag::kListener}, wake_tag_{EpollTag::kWake};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex posted_mu_;
  std::vector<std::function<void(Worker&)>> posted_;
  std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
  std::vector<std::unique_ptr<Session>> retired_;
  std::unique_ptr<io_uring> ring_;
  struct QueuedSend {
    Session* session;
    bool to_backend;
  };
  std::vector<QueuedSend> queued_sends_;
  static constexpr int kMaxEvents = 256;
  epoll_event ring_events_[kMaxEvents];  // written by the armed IORING_OP_EPOLL_WAIT
  std::chrono::steady_clock::time_point next_sweep_ = std::chrono::steady_clock::now();
};

}  // namespace pgshift::proxy
