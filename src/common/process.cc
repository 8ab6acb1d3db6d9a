// fork/exec with optional privilege drop, output capture and timeouts.
#include "common/process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace pgshift {
namespace {

int DecodeWaitStatus(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

// In the child: drop privileges, set env and cwd, redirect output, exec. Never returns.
// `parent` > 0: the child is killed when the thread that forked it ends (RunCommand's caller
// waits for it, so that is when its process dies): a runner killed with -9 leaves no
// pg_basebackup writing on into a directory the next runner copies into.
[[noreturn]] void ExecChild(const std::vector<std::string>& argv, const ProcessOptions& o,
                            int out_fd, std::optional<UserIds> ids, pid_t parent = 0) {
  setpgid(0, 0);
  if (out_fd >= 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    if (out_fd > STDERR_FILENO) close(out_fd);
  }
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  if (ids) {
    if (setgroups(0, nullptr) != 0 || setgid(ids->gid) != 0 || setuid(ids->uid) != 0) _exit(126);
  }
  // After the credentials change, which clears the setting.
  if (parent > 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)) _exit(126);
  if (o.cwd && chdir(o.cwd->c_str()) != 0) _exit(126);
  for (const auto& [k, v] : o.env) setenv(k.c_str(), v.c_str(), 1);
  if (ids) {
    struct passwd* pw = getpwuid(ids->uid);
    if (pw) {
      setenv("HOME", pw->pw_dir, 1);
      setenv("USER", pw->pw_name, 1);
    }
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  dprintf(STDERR_FILENO, "cannot run %s: %s\n", args[0], strerror(errno));
  _exit(127);
}

Result<std::optional<UserIds>> ResolveRunAs(const ProcessOptions& o) {
  if (!o.run_as || !RunningAsRoot()) return std::optional<UserIds>();
  ASSIGN_OR_RETURN(UserIds ids, LookupUser(*o.run_as));
  return std::optional<UserIds>(ids);
}

}  // namespace

bool RunningAsRoot() { return geteuid() == 0; }

Result<UserIds> LookupUser(const std::string& name) {
  struct passwd* pw = getpwnam(name.c_str());
  if (!pw) return NotFound("no such user '" + name + "' on this host");
  return UserIds{pw->pw_uid, pw->pw_gid};
}

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv, const ProcessOptions& o) {
  if (argv.empty()) return InvalidArgument("empty command");
  ASSIGN_OR_RETURN(std::optional<UserIds> ids, ResolveRunAs(o));
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Unavailable(std::string("pipe: ") + strerror(errno));
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Unavailable(std::string("fork: ") + strerror(errno));
  }
  if (pid == 0) {
    close(fds[0]);
    ExecChild(argv, o, fds[1], ids, parent);
  }
  close(fds[1]);
  CommandOutput out;
  auto deadline = std::chrono::steady_clock::now() + o.timeout;
  char buf[8192];
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p {
      fds[0], POLLIN, 0
    };
    int r = poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.output.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EOF
  }
  close(fds[0]);
  if (timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Unavailable("'" + argv[0] + "' did not finish within " +
                       std::to_string(o.timeout.count()) + " ms");
  }
  out.exit_code = DecodeWaitStatus(st);
  return out;
}

Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                         const ProcessOptions& o) {
  if (argv.empty()) return InvalidArgument("empty command");
  ASSIGN_OR_RETURN(std::optional<UserIds> ids, ResolveRunAs(o));
  int out_fd = -1;
  if (o.stdout_path) {
    out_fd = open(o.stdout_path->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      return Unavailable("cannot open " + *o.stdout_path + ": " + strerror(errno));
    }
    if (ids && fchown(out_fd, ids->uid, ids->gid) != 0) {
      // The child still writes through the inherited descriptor; ownership is cosmetic.
    }
  } else {
    out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(out_fd);
    return Unavailable(std::string("fork: ") + strerror(errno));
  }
  if (pid == 0) ExecChild(argv, o, out_fd, ids);
  close(out_fd);
  setpgid(pid, pid);
  ChildProcess c;
  c.pid_ = pid;
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), exit_code_(o.exit_code_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    this->~ChildProcess();
    pid_ = std::exchange(o.pid_, -1);
    exit_code_ = o.exit_code_;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
}

bool ChildProcess::Running() { return pid_ > 0 && !Wait(std::chrono::milliseconds(0)); }

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exit_code_ = DecodeWaitStatus(st);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace pgshift
