// Worker: one event loop thread (epoll, edge-triggered) with its own SO_REUSEPORT listener;
// the kernel spreads new connections over the workers and a session stays on the worker
// that accepted it, so session state needs no locks. Other threads talk to a worker only
// through Post(), which queues a function and wakes the loop through an eventfd.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"

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
  Worker(ProxyContext& ctx, int index);
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
  ProxyContext& ctx() { return ctx_; }
  std::unordered_map<uint64_t, std::unique_ptr<Session>>& sessions() { return sessions_; }

 private:
  void Run();
  void Accept();
  void RunPosted();

  ProxyContext& ctx_;
  int index_;
  int epoll_fd_ = -1, listen_fd_ = -1, wake_fd_ = -1;
  EpollTag listen_tag_{EpollTag::kListener}, wake_tag_{EpollTag::kWake};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex posted_mu_;
  std::vector<std::function<void(Worker&)>> posted_;
  std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
  std::vector<std::unique_ptr<Session>> retired_;
};

}  // namespace pgshift::proxy
