// Blocking HTTP/1.1 over a TCP socket with poll-based timeouts.
#include "common/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pgshift {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

bool WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

Result<HttpResponse> HttpRequest(const std::string& method, const std::string& address,
                                 const std::string& path, const std::string& body,
                                 const std::map<std::string, std::string>& headers,
                                 std::chrono::milliseconds timeout) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("'" + address + "' is not host:port");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    return Unavailable("cannot resolve " + address);
  }
  Fd fd(socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int rc = connect(fd.get(), res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (rc != 0 && errno != EINPROGRESS) {
    return Unavailable("cannot connect to " + address + ": " + strerror(errno));
  }
  if (!WaitFor(fd.get(), POLLOUT, deadline)) return Unavailable("timeout connecting to " + address);
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return Unavailable("cannot connect to " + address + ": " + strerror(err));

  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + address +
                    "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline)) return Unavailable("timeout sending to " + address);
    ssize_t n = send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Unavailable("send to " + address + ": " + strerror(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  while (true) {
    if (!WaitFor(fd.get(), POLLIN, deadline)) return Unavailable("timeout waiting for " + address);
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    break;
  }
  HttpResponse r;
  if (raw.compare(0, 5, "HTTP/") != 0 || raw.size() < 12) {
    return Unavailable(address + " did not answer with HTTP");
  }
  r.status = std::atoi(raw.c_str() + 9);
  auto head_end = raw.find("\r\n\r\n");
  if (head_end != std::string::npos) r.body = raw.substr(head_end + 4);
  return r;
}

}  // namespace pgshift
