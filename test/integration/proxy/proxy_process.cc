// ProxyProcess: fork, lower the descriptor limit, exec `pgshift proxy`, wait for its line.
#include "proxy_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "platform/local_instance.h"
#include "platform/port_reservation.h"

namespace pgshift::testing {

ProxyProcess::ProxyProcess(const ProxyHarness& h, int max_open_files) : h_(h) {
  port_ = *ReservePort();
  admin_port_ = *ReservePort();
  Start(max_open_files);
}

ProxyProcess::ProxyProcess(const ProxyHarness& h, int port, int admin_port)
    : h_(h), port_(port), admin_port_(admin_port) {
  Start(0);
}

void ProxyProcess::KillNow() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ProxyProcess::Start(int max_open_files) {
  std::string path = h_.ConfigCopy("proxy-process-" + std::to_string(port_) + ".ini",
                                   "127.0.0.1:" + std::to_string(port_),
                                   "127.0.0.1:" + std::to_string(admin_port_));
  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls between fork and exec: the test process has threads.
    if (max_open_files > 0) {
      rlimit limit{rlim_t(max_open_files), rlim_t(max_open_files)};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(PGSHIFT_BINARY, PGSHIFT_BINARY, "proxy", "--config", path.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string said;
  char buf[256];
  pollfd p{out[0], POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (said.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline &&
         poll(&p, 1, 200) >= 0) {
    if (!(p.revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    said.append(buf, size_t(n));
  }
  close(out[0]);
  started_ = said.find("listening on") != std::string::npos;
}

ProxyProcess::~ProxyProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (i == 99) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
}

std::string ProxyProcess::ConnString(const proxy::ClientCert& cert) const {
  return std::regex_replace(h_.ConnString(&cert), std::regex("port=[0-9]+"),
                            "port=" + std::to_string(port_));
}

HttpResponse ProxyProcess::Admin(const std::string& method, const std::string& path,
                                 const std::string& body) const {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  request.headers["authorization"] = std::string("Bearer ") + kAdminToken;
  auto r = HttpClient("127.0.0.1:" + std::to_string(admin_port_))
               .Send(request, std::chrono::seconds(30));
  if (r.ok()) return *r;
  HttpResponse failed;
  failed.status = 0;
  failed.body = r.status().ToString();
  return failed;
}

int ProxyProcess::OpenFiles() const {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

double ProxyProcess::CpuSeconds() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / double(sysconf(_SC_CLK_TCK));
}

long ProxyProcess::RssKib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace pgshift::testing
