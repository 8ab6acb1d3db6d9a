// AdminServer: the proxy's HTTP/1.1 admin API on its own loopback port (docs/proxy.md has
// the contract the orchestrator is written against). Every request but /healthz needs
// "Authorization: Bearer <token>". One thread per connection, one request per connection:
// a pause blocks for up to its deadline and must not stop a resume from being served.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "proxy/pause_controller.h"
#include "proxy/proxy_context.h"

namespace pgshift::proxy {

struct AdminResponse {
  int status = 200;
  std::string body;  // JSON, or Prometheus text for /metrics
  std::string content_type = "application/json";
};

class AdminServer {
 public:
  AdminServer(ProxyContext& ctx, PauseController& pauses) : ctx_(ctx), pauses_(pauses) {}
  ~AdminServer() { Stop(); }
  Status Start(const std::string& host, int port);
  void Stop();

  // The routing of one request, separate from the socket handling.
  AdminResponse Handle(const std::string& method, const std::string& path,
                       const std::string& authorization, const std::string& body);

 private:
  void AcceptLoop();
  void Serve(int fd);

  ProxyContext& ctx_;
  PauseController& pauses_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Connection> connections_;  // finished ones are joined at the next accept
};

}  // namespace pgshift::proxy
