// DISCARD ALL on a backend going back to the pool, and the check that it left it idle.
#include "proxy/backend_reset.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>

#include "proxy/wire_format.h"

namespace pgshift::proxy {
namespace {

constexpr const char* kResetSql = "DISCARD ALL";
constexpr char kParameterStatus = 'S';

// Blocking reads of whole messages until ReadyForQuery, on a socket with a receive timeout.
class ResetReader {
 public:
  explicit ResetReader(Transport& t) : t_(t) {}
  bool Next(char& type, std::string& body) {
    if (!Fill(5)) return false;
    type = in_[0];
    uint32_t len = wire::ReadU32(in_.data() + 1);
    if (len < 4 || len > (1u << 20)) return false;
    if (!Fill(1 + size_t(len))) return false;
    body.assign(in_, 5, len - 4);
    in_.erase(0, 1 + size_t(len));
    return true;
  }
  // Bytes read past the ReadyForQuery: the backend said something unasked.
  bool drained() const { return in_.empty(); }

 private:
  bool Fill(size_t n) {
    char buf[4096];
    while (in_.size() < n) {
      ssize_t r = t_.Read(buf, sizeof(buf));
      if (r <= 0) return false;  // blocking with SO_RCVTIMEO: would-block means the timeout
      in_.append(buf, size_t(r));
    }
    return true;
  }
  Transport& t_;
  std::string in_;
};

void SetBlocking(int fd, bool blocking) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK);
}

}  // namespace

Status ResetBackendForReuse(const std::string& cluster, BackendLink& link, int timeout_ms) {
  std::string where = "cluster " + cluster + ": resetting backend for the pool";
  Transport& t = link.transport;
  if (!t.open()) return Unavailable(where + ": the connection is closed");
  int fd = t.fd();
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  SetBlocking(fd, true);
  Status result = [&]() -> Status {
    std::string query = wire::Query(kResetSql);
    for (size_t off = 0; off < query.size();) {
      ssize_t n = t.Write(query.data() + off, query.size() - off);
      if (n <= 0) return Unavailable(where + ": cannot send " + kResetSql);
      off += size_t(n);
    }
    ResetReader reader(t);
    Status failed;
    for (;;) {
      char type = 0;
      std::string body;
      if (!reader.Next(type, body)) return Unavailable(where + ": no answer to " + kResetSql);
      if (type == wire::type::kErrorResponse && failed.ok()) {
        auto f = wire::ParseErrorFields(body);
        failed = FailedPrecondition(where + ": " + kResetSql + " failed: " + f['M'] +
                                    " (SQLSTATE " + f['C'] + ")");
      } else if (type == kParameterStatus) {
        size_t z = body.find('\0');
        if (z == std::string::npos) continue;
        std::string name = body.substr(0, z);
        std::string value = body.substr(z + 1, body.find('\0', z + 1) - z - 1);
        auto it = std::find_if(link.parameters.begin(), link.parameters.end(),
                               [&](const auto& p) { return p.first == name; });
        if (it == link.parameters.end())
          link.parameters.emplace_back(name, value);
        else
          it->second = value;
      } else if (type == wire::type::kReadyForQuery) {
        if (!failed.ok()) return failed;
        if (body.size() != 1 || body[0] != wire::kTxIdle) {
          return FailedPrecondition(where + ": the server was not idle after " + kResetSql);
        }
        if (!reader.drained()) {
          return FailedPrecondition(where + ": the server sent more after " + kResetSql);
        }
        return Status::Ok();
      }
      // CommandComplete, notices: nothing to decide.
    }
  }();
  SetBlocking(fd, false);
  return result;
}

}  // namespace pgshift::proxy
