// Process: how pgshift starts other programs (initdb, pg_ctl, pg_basebackup, pgbench,
// pg_recvlogical). PostgreSQL refuses to run as root, so a command can be run as another
// user; when pgshift itself is not root it runs as whoever it is.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift {

struct ProcessOptions {
  // Run as this user when the caller is root (ignored otherwise).
  std::optional<std::string> run_as;
  std::map<std::string, std::string> env;  // added to the inherited environment
  std::optional<std::string> cwd;
  std::optional<std::string> stdout_path;  // ChildProcess only: where output goes
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

struct CommandOutput {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved
};

// Runs argv to completion. kUnavailable if it cannot be started or times out; a non-zero
// exit is not an error here: callers read exit_code and output.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

// A long-running child (pgbench, pg_recvlogical). Killed (SIGKILL to its process group)
// when destroyed unless waited for.
class ChildProcess {
 public:
  static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                    const ProcessOptions& options = {});
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits up to timeout; returns the exit code (or 128+signal), nullopt if still running.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Resolves uid/gid of a user; used to hand directories to the postgres user.
struct UserIds {
  uid_t uid;
  gid_t gid;
};
Result<UserIds> LookupUser(const std::string& name);
bool RunningAsRoot();

}  // namespace pgshift
