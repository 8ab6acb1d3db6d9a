// Who runs a migration: the owner string a runner puts in its store lease, and the seam that
// judges whether the holder of a lease is a dead process on this host.
//
// The owner string is "host:pid:start/n", start being the process's start time in clock ticks
// since boot (from /proc), so that a recycled pid is not mistaken for the old runner, and n
// numbering the engines of the process, so that two engines in one process are two owners. A runner
// on the same host may take a lease over at once when its holder is dead (kill -9 followed by
// `migrate run`, as the crash tests do); across hosts only the lease's TTL decides.
#pragma once

#include <string>

namespace pgshift {

// A new owner string for an engine of this process.
std::string NewRunnerOwner();

class RunnerLiveness {
 public:
  virtual ~RunnerLiveness() = default;
  // True only when `owner` names a process on this host that is certainly gone. False when it
  // lives, is on another host, or cannot be judged.
  virtual bool IsDeadLocalRunner(const std::string& owner) const = 0;

  // /proc and kill(pid, 0).
  static const RunnerLiveness& Real();
};

}  // namespace pgshift
