// ProxyServer: the data access layer as one object. Start() binds the client port (one
// SO_REUSEPORT listener per worker thread) and the admin port and returns once both accept
// connections; Stop() (or destruction) closes every session and joins every thread.
//
//   ASSIGN_OR_RETURN(ProxyConfig cfg, LoadProxyConfig(path));
//   ASSIGN_OR_RETURN(auto proxy, ProxyServer::Start(cfg));
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "proxy/connection_limits.h"
#include "proxy/proxy_config.h"

namespace pgshift::proxy {

struct ProxyContext;
class Worker;
class PauseController;
class AdminServer;

class ProxyServer {
 public:
  static Result<std::unique_ptr<ProxyServer>> Start(const ProxyConfig& config);
  ~ProxyServer();
  void Stop();
  int port() const;
  int admin_port() const;

 private:
  ProxyServer() = default;
  std::unique_ptr<ProxyContext> ctx_;
  std::unique_ptr<ConnectionLimits> limits_;  // shared by the workers
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<PauseController> pauses_;
  std::unique_ptr<AdminServer> admin_;
};

}  // namespace pgshift::proxy
