// The epoll event loop of one worker thread.
#include "proxy/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/proxy_context.h"
#include "proxy/session.h"

namespace pgshift::proxy {

Worker::Worker(ProxyContext& ctx, int index) : ctx_(ctx), index_(index) {}

Worker::~Worker() {
  Stop();
  sessions_.clear();
  retired_.clear();
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
}

void Worker::Accept() {
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: the next edge retries
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
    uint64_t id = ctx_.next_session_id.fetch_add(1);
    auto s = std::make_unique<Session>(
        *this, id, fd, std::string(ip) + ":" + std::to_string(ntohs(peer.sin_port)));
    Session* raw = s.get();
    sessions_[id] = std::move(s);
    raw->WatchClient();
    raw->Pump();
  }
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

void Worker::Run() {
  epoll_event events[256];
  auto next_sweep = std::chrono::steady_clock::now();
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, events, 256, 1000);
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
    auto now = std::chrono::steady_clock::now();
    if (now >= next_sweep) {
      next_sweep = now + std::chrono::seconds(1);
      std::vector<Session*> all;
      for (auto& [id, s] : sessions_) all.push_back(s.get());
      for (Session* s : all) s->CheckLoginDeadline(now, std::chrono::seconds(30));
    }
    retired_.clear();
  }
}

}  // namespace pgshift::proxy
