// Owner strings and the local liveness check, from /proc.
#include "workflow/runner_identity.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
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
    std::string nonce = owner.substr(b + 1);
    nonce = nonce.substr(0, nonce.find('/'));
    return !start.empty() && start != nonce;
  }
};

}  // namespace

std::string NewRunnerOwner() {
  static const std::string process =
      HostName() + ":" + std::to_string(getpid()) + ":" + StartTimeOf(getpid());
  static std::atomic<int> engines{0};
  return process + "/" + std::to_string(++engines);
}

const RunnerLiveness& RunnerLiveness::Real() {
  static const ProcLiveness real;
  return real;
}

}  // namespace pgshift
