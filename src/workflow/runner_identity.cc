// Owner strings and the local liveness check, from /proc.
#include "workflow/runner_identity.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace pgshift {
namespace {

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

// Field 22 of /proc/<pid>/stat (starttime), or "" when the process does not exist.
std::string StartTimeOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  // The command name (field 2) is in parentheses and may hold spaces: count after its end.
  auto close = line.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return field;
  }
  return "";
}

class ProcLiveness : public RunnerLiveness {
 public:
  bool IsDeadLocalRunner(const std::string& owner) const override {
    auto a = owner.find(':');
    auto b = owner.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) return false;
    if (owner.substr(0, a) != HostName()) return false;
    int pid = 0;
    try {
      pid = std::stoi(owner.substr(a + 1, b - a - 1));
    } catch (...) {
      return false;
    }
    if (pid <= 0) return false;
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::string start = StartTimeOf(pid);
    // Alive with another start time: the pid was recycled, the runner is gone.
    return !start.empty() && start != owner.substr(b + 1);
  }
};

}  // namespace

const std::string& ThisRunnerOwner() {
  static const std::string owner =
      HostName() + ":" + std::to_string(getpid()) + ":" + StartTimeOf(getpid());
  return owner;
}

const RunnerLiveness& RunnerLiveness::Real() {
  static const ProcLiveness real;
  return real;
}

}  // namespace pgshift
