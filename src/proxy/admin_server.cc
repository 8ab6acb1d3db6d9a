// Admin API: request parsing, authorization and the JSON of each endpoint.
#include "proxy/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace pgshift::proxy {
namespace {

using nlohmann::json;

AdminResponse Json(int status, const json& j) { return {status, j.dump()}; }
AdminResponse Error(int status, const std::string& message) {
  return Json(status, {{"error", message}});
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    default:
      return "Error";
  }
}

bool TokenMatches(const std::string& header, const std::string& token) {
  const std::string prefix = "Bearer ";
  if (header.compare(0, prefix.size(), prefix) != 0) return false;
  std::string given = header.substr(prefix.size());
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

// A non-negative integer field of the body, or `fallback` when absent.
bool Field(const json& body, const char* name, int64_t fallback, int64_t& out) {
  if (!body.contains(name)) {
    out = fallback;
    return fallback >= 0;
  }
  if (!body[name].is_number_integer() || body[name].get<int64_t>() < 0) return false;
  out = body[name].get<int64_t>();
  return true;
}

// The endpoint of a switch or prepare body: "" when valid, else what is wrong.
std::string EndpointField(const json& body, const std::string& verb, std::string& host,
                          int64_t& port) {
  if (!body.contains("host") || !body["host"].is_string() ||
      body["host"].get<std::string>().empty()) {
    return verb + " needs \"host\" (a string)";
  }
  if (!Field(body, "port", -1, port) || port < 1 || port > 65535) {
    return verb + " needs \"port\" (1-65535)";
  }
  host = body["host"].get<std::string>();
  return "";
}

json SessionJson(const SessionInfo& s) {
  return {{"id", s.id},
          {"cluster", s.cluster},
          {"user", s.user},
          {"identity", s.identity},
          {"client", s.client},
          {"started_unix", s.started_unix},
          {"transaction_status", std::string(1, s.tx_status.load())},
          {"busy", s.busy.load()},
          {"held", s.held.load()},
          {"pinned", s.pinned.load()},
          {"route_version", s.route_version.load()},
          {"replication", s.replication},
          {"bytes_from_client", s.bytes_in.load()},
          {"bytes_from_server", s.bytes_out.load()}};
}

}  // namespace

AdminResponse AdminServer::Handle(const std::string& method, const std::string& path,
                                  const std::string& authorization, const std::string& body_text) {
  if (path == "/healthz") return {200, "ok\n", "text/plain"};
  if (!TokenMatches(authorization, ctx_.config.admin_token)) {
    return Error(401, "missing or wrong bearer token");
  }
  if (method == "GET" && path == "/metrics") {
    return {200, ctx_.metrics.PrometheusText(), "text/plain; version=0.0.4"};
  }
  if (method == "GET" && path == "/v1/routes") {
    auto t = ctx_.routes.Get();
    json routes = json::object();
    for (const auto& [name, e] : t->routes) {
      ClusterControl* c = ctx_.Cluster(name);
      routes[name] = {{"host", e.host},
                      {"port", e.port},
                      {"version", e.version},
                      {"tls", e.tls == BackendTls::kRequire},
                      {"paused", c && c->paused.load()}};
    }
    return Json(200, {{"version", t->version}, {"routes", routes}});
  }
  if (method == "GET" && path == "/v1/sessions") {
    json list = json::array();
    for (const auto& s : ctx_.sessions.Snapshot()) list.push_back(SessionJson(*s));
    return Json(200, {{"sessions", list}});
  }
  const std::string prefix = "/v1/clusters/";
  if (path.compare(0, prefix.size(), prefix) != 0) return Error(404, "no such endpoint " + path);
  size_t slash = path.find('/', prefix.size());
  if (slash == std::string::npos) return Error(404, "expected /v1/clusters/{cluster}/{verb}");
  std::string cluster = path.substr(prefix.size(), slash - prefix.size());
  std::string verb = path.substr(slash + 1);
  if (method != "POST") return Error(405, "use POST for " + path);
  if (!ctx_.Cluster(cluster)) return Error(404, "unknown cluster '" + cluster + "'");
  json body = body_text.empty() ? json::object() : json::parse(body_text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return Error(400, "the body is not a JSON object");

  if (verb == "pause") {
    int64_t deadline, lease;
    if (!Field(body, "deadline_ms", 5000, deadline) || !Field(body, "lease_ms", 10000, lease)) {
      return Error(400, "deadline_ms and lease_ms must be non-negative integers");
    }
    auto r = pauses_.Pause(cluster, std::chrono::milliseconds(deadline),
                           std::chrono::milliseconds(lease));
    if (!r.ok()) return Error(404, r.status().message());
    if (r->paused) {
      return Json(200, {{"paused", true},
                        {"sessions", r->sessions},
                        {"held_backend_pids", r->held_backend_pids}});
    }
    return Json(409, {{"paused", false}, {"not_drained", r->not_drained}, {"reason", r->reason}});
  }
  if (verb == "renew") {
    int64_t lease;
    if (!Field(body, "lease_ms", 10000, lease))
      return Error(400, "lease_ms must be a non-negative integer");
    Status st = pauses_.Renew(cluster, std::chrono::milliseconds(lease));
    if (!st.ok()) return Json(409, {{"paused", false}, {"error", st.message()}});
    return Json(200, {{"paused", true}});
  }
  if (verb == "resume") {
    Status st = pauses_.Resume(cluster);
    if (!st.ok()) return Error(404, st.message());
    return Json(200, {{"paused", false}});
  }
  if (verb == "switch") {
    std::string host;
    int64_t port, version;
    if (std::string bad = EndpointField(body, verb, host, port); !bad.empty()) {
      return Error(400, bad);
    }
    if (!Field(body, "version", -1, version) || version < 1) {
      return Error(400, "switch needs \"version\" (a positive integer above the current one)");
    }
    auto r = pauses_.Switch(cluster, host, int(port), uint64_t(version));
    if (!r.ok()) {
      int code = r.status().code() == Code::kAborted ? 409 : 400;
      return Json(code, {{"error", r.status().message()},
                         {"version", ctx_.routes.Get()->routes.at(cluster).version}});
    }
    return Json(200, {{"version", r->version},
                      {"moved", r->moved},
                      {"pending", r->pending},
                      {"replication_staying", r->staying}});
  }
  if (verb == "prepare") {
    std::string host;
    int64_t port, deadline;
    if (std::string bad = EndpointField(body, verb, host, port); !bad.empty()) {
      return Error(400, bad);
    }
    if (!Field(body, "deadline_ms", 3000, deadline)) {
      return Error(400, "deadline_ms must be a non-negative integer");
    }
    auto r = pauses_.Prepare(cluster, host, int(port), std::chrono::milliseconds(deadline));
    if (!r.ok()) return Error(404, r.status().message());
    return Json(200, {{"sessions", r->sessions}, {"open", r->open}, {"failed", r->failed}});
  }
  return Error(404, "unknown verb '" + verb + "' (expected pause, renew, prepare, switch, resume)");
}

Status AdminServer::Start(const std::string& host, int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument("admin_listen address '" + host + "' is not an IPv4 address");
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    return Unavailable("proxy admin cannot listen on " + host + ":" + std::to_string(port) + ": " +
                       std::strerror(errno));
  }
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void AdminServer::Stop() {
  if (!accept_thread_.joinable()) return;
  stopping_ = true;
  accept_thread_.join();
  ::close(listen_fd_);
  std::lock_guard<std::mutex> l(mu_);
  for (auto& c : connections_) c.thread.join();
  connections_.clear();
}

void AdminServer::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    connections_.push_back({std::thread([this, fd, done] {
                              Serve(fd);
                              done->store(true);
                            }),
                            done});
  }
}

void AdminServer::Serve(int fd) {
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string in;
  char buf[4096];
  size_t header_end = std::string::npos;
  while (header_end == std::string::npos && in.size() < 65536) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    in.append(buf, size_t(n));
    header_end = in.find("\r\n\r\n");
  }
  AdminResponse resp;
  if (header_end == std::string::npos) {
    resp = Error(400, "malformed HTTP request");
  } else {
    std::string head = in.substr(0, header_end);
    std::string method, path, authorization;
    size_t content_length = 0;
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
    if (sp1 != std::string::npos && sp2 > sp1) {
      method = request_line.substr(0, sp1);
      path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    }
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      pos = e + 2;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      if (name == "authorization") authorization = value;
      if (name == "content-length") content_length = std::strtoul(value.c_str(), nullptr, 10);
    }
    std::string body = in.substr(header_end + 4);
    while (body.size() < content_length && content_length < 1 << 20) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      body.append(buf, size_t(n));
    }
    resp = method.empty() ? Error(400, "malformed request line")
                          : Handle(method, path, authorization, body);
  }
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) +
                    "\r\nContent-Type: " + resp.content_type +
                    "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                    "\r\nConnection: close\r\n\r\n" + resp.body;
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += size_t(n);
  }
  ::close(fd);
}

}  // namespace pgshift::proxy
