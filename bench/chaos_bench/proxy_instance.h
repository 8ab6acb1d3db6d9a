// ProxyInstance: one `pgshift proxy` process of a chaos round, started from a config file the
// round wrote, so that a fault can kill it (-9), stop it (SIGSTOP) or restart it from that same
// file, and the checker can ask its admin API where the cluster routes and whether it is paused.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/process.h"
#include "common/status.h"

namespace pgshift::chaos {

struct ProxyRoute {
  std::string host;
  int port = 0;
  bool paused = false;
  uint64_t version = 0;
};

class ProxyInstance {
 public:
  // Starts `binary proxy --config config_path` and waits until its admin API answers.
  static Result<std::unique_ptr<ProxyInstance>> Start(std::string binary, std::string config_path,
                                                      int admin_port, std::string token);
  ~ProxyInstance();  // SIGCONT, SIGTERM, then SIGKILL if it does not end

  Status Restart();  // from the same config file (after a kill)
  void Kill9();
  void Stop();    // SIGSTOP
  void Resume();  // SIGCONT
  bool Running();
  std::string admin_address() const;
  std::string log_path() const { return config_path_ + ".log"; }
  // The route of `cluster` as the admin API reports it.
  Result<ProxyRoute> Route(const std::string& cluster) const;

 private:
  ProxyInstance() = default;
  Status Launch();
  std::string binary_, config_path_, token_;
  int admin_port_ = 0;
  std::optional<ChildProcess> process_;
  int launches_ = 0;
};

}  // namespace pgshift::chaos
