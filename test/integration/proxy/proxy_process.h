// ProxyProcess: a real `pgshift proxy` process serving a harness's configuration on ports of
// its own, optionally under a lowered RLIMIT_NOFILE (set in the child before exec), for tests
// that watch the process from outside: its CPU time and resident memory from /proc.
#pragma once

#include <sys/types.h>

#include <string>

#include "proxy_harness.h"

namespace pgshift::testing {

class ProxyProcess {
 public:
  // `max_open_files` 0 keeps the test's limit. Waits up to 20 s for "listening on".
  explicit ProxyProcess(const ProxyHarness& h, int max_open_files = 0);
  // On the given ports: a process started again on the ports of one that was killed serves
  // the same config file, so it reads that one's route file (<config>.routes).
  ProxyProcess(const ProxyHarness& h, int port, int admin_port);
  ~ProxyProcess();  // SIGTERM, then waits for the process
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  bool started() const { return started_; }
  // kill -9, and waits for the process: no orderly shutdown.
  void KillNow();
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // libpq conninfo reaching this process with the harness's client certificate `cert`.
  std::string ConnString(const proxy::ClientCert& cert) const;
  // Admin API call to this process, with the harness's token.
  HttpResponse Admin(const std::string& method, const std::string& path,
                     const std::string& body = "") const;
  // Descriptors the process has open now (/proc/<pid>/fd).
  int OpenFiles() const;
  // User plus system CPU time the process used so far (/proc/<pid>/stat), in seconds.
  double CpuSeconds() const;
  // Resident memory now (VmRSS of /proc/<pid>/status), in KiB; -1 if unreadable.
  long RssKib() const;

 private:
  void Start(int max_open_files);
  const ProxyHarness& h_;
  pid_t pid_ = -1;
  int port_ = 0, admin_port_ = 0;
  bool started_ = false;
};

}  // namespace pgshift::testing
