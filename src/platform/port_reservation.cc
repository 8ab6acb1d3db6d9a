// ReservePort: a lock file per port plus a bind check, over a window the kernel never hands
// to outgoing connections.
#include "platform/port_reservation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <string>

namespace pgshift {
namespace {

constexpr int kLowestPort = 20000;
constexpr int kMinimumWindow = 1000;
constexpr const char* kLockDir = "/tmp/pgshift-ports";

// True when a listening socket could bind 127.0.0.1:port now. No SO_REUSEADDR: a port with
// connections in TIME_WAIT is skipped too, which costs nothing with thousands to choose from.
bool PortIsFree(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool free = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return free;
}

PortWindow WindowOfThisHost() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;  // Linux's default when the file cannot be read
  if (!(in >> low >> high)) {
    low = 32768;
    high = 60999;
  }
  return ReservablePorts(low, high);
}

}  // namespace

PortWindow ReservablePorts(int ephemeral_low, int ephemeral_high) {
  if (ephemeral_low - kLowestPort >= kMinimumWindow) return {kLowestPort, ephemeral_low - 1};
  if (65535 - ephemeral_high >= kMinimumWindow) return {ephemeral_high + 1, 65535};
  // The whole port space is ephemeral: there is no safe window; take the top of the space.
  return {65535 - kMinimumWindow + 1, 65535};
}

Result<int> ReservePort() {
  static std::mutex mu;
  static std::set<int> held;  // lock fds stay open for the life of the process
  std::lock_guard<std::mutex> l(mu);
  std::error_code ec;
  std::filesystem::create_directories(kLockDir, ec);
  chmod(kLockDir, 01777);

  PortWindow w = WindowOfThisHost();
  int span = w.last - w.first + 1;
  // A different starting point per process, so concurrent test binaries rarely meet on the
  // same lock file.
  std::mt19937 rng(
      static_cast<unsigned>(getpid()) ^
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  int start = static_cast<int>(rng() % static_cast<unsigned>(span));
  for (int i = 0; i < span; ++i) {
    int port = w.first + (start + i) % span;
    if (held.count(port)) continue;
    std::string lock = std::string(kLockDir) + "/" + std::to_string(port) + ".lock";
    int fd = open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !PortIsFree(port)) {
      close(fd);
      continue;
    }
    held.insert(port);
    return port;
  }
  return Unavailable("no free TCP port on 127.0.0.1 in " + std::to_string(w.first) + "-" +
                     std::to_string(w.last) +
                     " (every one is in use or locked under /tmp/pgshift-ports); stop "
                     "leftover servers or free ports in that range");
}

}  // namespace pgshift
