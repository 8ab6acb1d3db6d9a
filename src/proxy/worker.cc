// The event loop of one worker thread: epoll readiness, with sends either made at once
// (io_engine = epoll) or batched into the loop's single io_uring_enter (io_engine = io_uring).
#include "proxy/worker.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "proxy/proxy_context.h"
#include "proxy/session.h"
#include "proxy/wire_format.h"

namespace pgshift::proxy {
namespace {

// IORING_OP_EPOLL_WAIT (Linux 6.15): liburing 2.3's header predates it, so the number is
// spelled here; the ring's probe confirms the running kernel has it before it is used.
constexpr uint8_t kOpEpollWait = 59;
constexpr unsigned kRingEntries = 1024;
// Sends per turn, so a turn's completions always fit the completion queue (2 x entries).
constexpr size_t kMaxSendsPerTurn = 512;
// User data of the two standing requests; sends carry a Session* (8-aligned) | direction bit.
constexpr uint64_t kEpollWaitData = 0;
constexpr uint64_t kSweepTimerData = 1;
// How long the listener goes unwatched when accept finds no file descriptor left: sessions
// closing free some meanwhile, and the connections wait in the backlog. Under io_uring the
// loop wakes once a second, so the pause may last up to that.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// glibc keeps what sessions free in its arenas (one per thread that allocated: workers, login
// threads) and rarely returns it: under connection churn the RSS climbed 59 -> 138 MB over
// six rounds of 1,000 sessions with ~1.5 MB in use after each. After this many closes a
// worker's sweep (at most once a second) hands free pages of every arena back (malloc_trim).
constexpr uint64_t kTrimAfterClosedSessions = 32;

}  // namespace

Worker::Worker(ProxyContext& ctx, int index, ConnectionLimits& limits)
    : ctx_(ctx), index_(index), limits_(limits) {}

Worker::~Worker() {
  Stop();
  sessions_.clear();
  retired_.clear();
  if (ring_) io_uring_queue_exit(ring_.get());
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status Worker::Start(const std::string& host, int port) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || listen_fd_ < 0) {
    return Internal(std::string("proxy worker: cannot create sockets: ") + std::strerror(errno));
  }
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument("proxy listen address '" + host + "' is not an IPv4 address");
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 1024) != 0) {
    return Unavailable("proxy cannot listen on " + host + ":" + std::to_string(port) + ": " +
                       std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_tag_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.ptr = &wake_tag_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  thread_.join();
}

void Worker::Post(std::function<void(Worker&)> fn) {
  {
    std::lock_guard<std::mutex> l(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
}

Session* Worker::Find(uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Worker::Watch(int fd, EpollTag* tag) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = tag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void Worker::Unwatch(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void Worker::Retire(Session* s) {
  auto it = sessions_.find(s->id());
  if (it == sessions_.end()) return;
  retired_.push_back(std::move(it->second));
  sessions_.erase(it);
  ++closed_since_trim_;
}

void Worker::Accept() {
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // The listener is level-triggered: returning with the backlog still full would wake the
      // loop again at once, and again, at 100 % CPU, until a descriptor frees up.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        PauseAccepting(errno);
      }
      return;  // EAGAIN, or a transient error: the next readiness retries
    }
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
    ConnectionLimits::Slot slot;
    auto refusal = limits_.TryAdmit(peer.sin_addr.s_addr, slot);
    if (refusal != ConnectionLimits::Refusal::kNone) {
      Refuse(fd, ip, refusal);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    uint64_t id = ctx_.next_session_id.fetch_add(1);
    auto s = std::make_unique<Session>(
        *this, id, fd, std::string(ip) + ":" + std::to_string(ntohs(peer.sin_port)));
    Session* raw = s.get();
    raw->HoldConnectionSlot(std::move(slot));
    sessions_[id] = std::move(s);
    raw->WatchClient();
    raw->Pump();
  }
}

void Worker::Refuse(int fd, const char* ip, ConnectionLimits::Refusal why) {
  ctx_.metrics.For("").Add(Metric::kClientConnectionsRefused);
  // Before any TLS: the client reads it as the answer to its SSLRequest (libpq reports it).
  // It says nothing of the limits' values; the log names the rule.
  std::string refusal = wire::ErrorResponse(
      "FATAL", "53300", "pgshift: too many connections to this proxy; try again later");
  (void)!::send(fd, refusal.data(), refusal.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::close(fd);
  ++refusals_unlogged_;
  auto now = std::chrono::steady_clock::now();
  if (now - refusal_logged_at_ < std::chrono::seconds(1)) return;
  refusal_logged_at_ = now;
  spdlog::warn("proxy worker {}: refused {} client connection(s), the last from {}: {}", index_,
               refusals_unlogged_, ip,
               why == ConnectionLimits::Refusal::kTooManyConnections
                   ? "max_client_connections reached (" +
                         std::to_string(ctx_.config.max_client_connections) + ")"
                   : "max_pending_handshakes_per_address reached for this address (" +
                         std::to_string(ctx_.config.max_pending_handshakes_per_address) + ")");
  refusals_unlogged_ = 0;
}

void Worker::PauseAccepting(int error) {
  if (accept_paused_) return;
  accept_paused_ = true;
  accept_resume_at_ = std::chrono::steady_clock::now() + kAcceptBackoff;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  ctx_.metrics.For("").Add(Metric::kAcceptBackoffs);
  // Up to ten pauses a second while descriptors stay short: one line every 10 s says it.
  if (accept_pause_logged_at_ != std::chrono::steady_clock::time_point{} &&
      accept_resume_at_ - accept_pause_logged_at_ < std::chrono::seconds(10)) {
    return;
  }
  accept_pause_logged_at_ = accept_resume_at_;
  spdlog::warn("proxy worker {}: out of file descriptors ({}); not accepting for {} ms", index_,
               std::strerror(error), kAcceptBackoff.count());
}

void Worker::ResumeAcceptingWhenDue(std::chrono::steady_clock::time_point now) {
  if (!accept_paused_ || now < accept_resume_at_) return;
  accept_paused_ = false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_tag_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);  // level-triggered: a backlog wakes
}

void Worker::RunPosted() {
  uint64_t count;
  (void)!::read(wake_fd_, &count, sizeof(count));
  std::vector<std::function<void(Worker&)>> batch;
  {
    std::lock_guard<std::mutex> l(posted_mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn(*this);
}

void Worker::QueueSend(Session* s, bool to_backend) { queued_sends_.push_back({s, to_backend}); }

void Worker::Dispatch(const epoll_event* events, int n) {
  for (int i = 0; i < n; ++i) {
    auto* tag = static_cast<EpollTag*>(events[i].data.ptr);
    switch (tag->kind) {
      case EpollTag::kListener:
        Accept();
        break;
      case EpollTag::kWake:
        RunPosted();
        break;
      case EpollTag::kClient:
        tag->session->OnClientEvent(events[i].events);
        break;
      case EpollTag::kBackend:
        tag->session->OnBackendEvent(events[i].events);
        break;
    }
  }
}

void Worker::Sweep() {
  auto now = std::chrono::steady_clock::now();
  ResumeAcceptingWhenDue(now);
  if (now < next_sweep_) return;
  next_sweep_ = now + std::chrono::seconds(1);
  if (closed_since_trim_ >= kTrimAfterClosedSessions) {
    // Freed before trimming: sessions retired in this turn would otherwise wait a second.
    if (queued_sends_.empty()) retired_.clear();
    closed_since_trim_ = 0;
    malloc_trim(0);
  }
  std::vector<Session*> all;
  for (auto& [id, s] : sessions_) all.push_back(s.get());
  for (Session* s : all) {
    s->CheckLoginDeadline(now, std::chrono::seconds(30));
    s->CloseRetiredBackend(now);
  }
  if (index_ == 0) ctx_.backend_pool.ExpireIdle();  // one worker ages the shared pool
}

void Worker::Run() {
  if (ctx_.config.io_engine == IoEngine::kIoUring && SetUpRing()) {
    RunRing();
  } else {
    RunEpoll();
  }
}

void Worker::RunEpoll() {
  epoll_event events[kMaxEvents];
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, accept_paused_ ? 20 : 1000);
    Dispatch(events, n);
    Sweep();
    retired_.clear();
  }
}

bool Worker::SetUpRing() {
  auto ring = std::make_unique<io_uring>();
  // DEFER_TASKRUN: completions are only produced inside io_uring_enter, never while the loop
  // is dispatching, so the epoll results buffer is not written behind the loop's back.
  int r = io_uring_queue_init(kRingEntries, ring.get(),
                              IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
  if (r < 0) {
    spdlog::warn("proxy worker {}: io_engine io_uring unavailable ({}); using epoll", index_,
                 std::strerror(-r));
    return false;
  }
  io_uring_probe* probe = io_uring_get_probe_ring(ring.get());
  bool usable = probe != nullptr && io_uring_opcode_supported(probe, kOpEpollWait) &&
                (ring->features & IORING_FEAT_EXT_ARG) != 0;
  if (probe) io_uring_free_probe(probe);
  if (!usable) {
    spdlog::warn(
        "proxy worker {}: io_engine io_uring needs Linux 6.15 or later (IORING_OP_EPOLL_WAIT); "
        "using epoll",
        index_);
    io_uring_queue_exit(ring.get());
    return false;
  }
  ring_ = std::move(ring);
  return true;
}

unsigned Worker::FlushSends(bool& may_block) {
  unsigned count = 0;
  size_t i = 0;
  // Room for the standing epoll wait and timer is kept; the queue is empty after every
  // submit, so this only bites if a submit failed.
  for (; i < queued_sends_.size() && count < kMaxSendsPerTurn &&
         io_uring_sq_space_left(ring_.get()) > 2;
       ++i) {
    auto [session, to_backend] = queued_sends_[i];
    int fd = -1;
    const char* data = nullptr;
    size_t len = 0;
    bool more_after = false;
    if (!session->TakeSend(to_backend, fd, data, len, more_after)) continue;
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    io_uring_prep_send(sqe, fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, reinterpret_cast<uint64_t>(session) | (to_backend ? 1 : 0));
    ++count;
    // This session can go on once its send completes, without a new readiness event.
    if (more_after) may_block = false;
  }
  queued_sends_.erase(queued_sends_.begin(), queued_sends_.begin() + ptrdiff_t(i));
  if (!queued_sends_.empty()) may_block = false;
  return count;
}

void Worker::RunRing() {
  io_uring* ring = ring_.get();
  bool waiting = false;  // the EPOLL_WAIT is armed
  bool timer = false;    // the sweep's timeout is armed
  // A standing timeout request, not a timeout on every wait: arming a timer per wait costs
  // more than the request re-armed once a second.
  __kernel_timespec sweep_interval{1, 0};
  while (!stopping_) {
    bool may_block = true;
    unsigned sends = FlushSends(may_block);
    // Sessions closed since the last flush: nothing refers to them now (unless sends are
    // still queued beyond this turn's share).
    if (queued_sends_.empty()) retired_.clear();
    if (!waiting) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      io_uring_prep_rw(kOpEpollWait, sqe, epoll_fd_, ring_events_, kMaxEvents, 0);
      io_uring_sqe_set_data64(sqe, kEpollWaitData);
      waiting = true;
    }
    if (!timer) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      io_uring_prep_timeout(sqe, &sweep_interval, 0, 0);
      io_uring_sqe_set_data64(sqe, kSweepTimerData);
      timer = true;
    }
    // Each send completes inside this call (MSG_DONTWAIT), so waiting for one completion more
    // than the sends is waiting for readiness (or the timer), unless a send's completion
    // itself lets a session continue.
    int r = io_uring_submit_and_wait(ring, may_block ? sends + 1 : sends);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      spdlog::error("proxy worker {}: io_uring_enter failed: {}", index_, std::strerror(-r));
    }
    int ready = 0;
    unsigned head = 0, seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      if (data == kSweepTimerData) {
        timer = false;
        continue;
      }
      if (data == kEpollWaitData) {
        waiting = false;
        ready = cqe->res;
        if (ready < 0 && ready != -EINTR && ready != -EAGAIN) {
          spdlog::error("proxy worker {}: io_uring epoll wait failed: {}", index_,
                        std::strerror(-ready));
        }
        continue;
      }
      auto* session = reinterpret_cast<Session*>(data & ~uint64_t(1));
      session->OnSendDone((data & 1) != 0, cqe->res);
    }
    io_uring_cq_advance(ring, seen);
    // Readiness last: an edge reported here may be newer than a send's EAGAIN above.
    if (ready > 0) Dispatch(ring_events_, ready);
    Sweep();
  }
}

}  // namespace pgshift::proxy
