// ProxyHarness and RawClient.
#include "proxy_harness.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "platform/local_instance.h"
#include "platform/port_reservation.h"

namespace pgshift::testing {

void ProxyHarness::PrepareBackend(const PgCluster& pg) {
  pg.Sql(std::string("CREATE ROLE app LOGIN PASSWORD '") + kAppPassword + "'");
  pg.Sql("CREATE DATABASE appdb OWNER app");
  pg.Sql("CREATE TABLE items (id int primary key, note text); ALTER TABLE items OWNER TO app",
         "appdb");
}

// PGSHIFT_TEST_IO_ENGINE runs the whole suite on the named engine instead of the default
// (both are worth running).
static std::string IoEngineLine(const std::string& chosen) {
  if (!chosen.empty()) return "\nio_engine = " + chosen;
  const char* e = std::getenv("PGSHIFT_TEST_IO_ENGINE");
  return e && *e ? std::string("\nio_engine = ") + e : "";
}

ProxyHarness::ProxyHarness(HarnessOptions options) {
  primary = PgCluster::Primary();
  PrepareBackend(*primary);
  password_path = dir.path() + "/app.password";
  std::ofstream(password_path) << kAppPassword << "\n";
  std::ofstream(dir.path() + "/admin.token") << kAdminToken << "\n";
  // Secrets as an operator should keep them (a looser file makes the config loader warn).
  std::filesystem::permissions(password_path, std::filesystem::perms(0600));
  std::filesystem::permissions(dir.path() + "/admin.token", std::filesystem::perms(0600));
  int port = *ReservePort(), admin = *ReservePort();
  std::string text =
      "[proxy]\nlisten = 127.0.0.1:" + std::to_string(port) +
      "\nadmin_listen = 127.0.0.1:" + std::to_string(admin) +
      "\nadmin_token_file = admin.token\nthreads = " + std::to_string(options.threads) +
      "\nclient_tls = " + (options.client_tls ? "on" : "off") + IoEngineLine(options.io_engine) +
      "\ntls_cert = " + pki.server_cert() + "\ntls_key = " + pki.server_key() +
      "\nclient_ca = " + pki.ca_cert() + "\n" + options.proxy_config +
      "\n[cluster orders]\nhost = 127.0.0.1\nport = " + std::to_string(primary->port()) +
      "\ndatabase = appdb\nuser = app\npassword_file = app.password\n\n"
      "[identity svc-orders]\ndatabases = orders\nroles = app\nreplication = on\n\n"
      "[identity spiffe://example.org/billing]\ndatabases = *\nroles = *\n\n"
      "[identity svc-other]\ndatabases = inventory\nroles = app\n\n"
      "[identity svc-readonly]\ndatabases = orders\nroles = reader\n" +
      options.extra_config;
  config_path = dir.path() + "/proxy.ini";
  std::ofstream(config_path) << text;
  auto cfg = proxy::LoadProxyConfig(config_path);
  if (!cfg.ok()) throw std::runtime_error(cfg.status().ToString());
  config = *cfg;
  auto server = proxy::ProxyServer::Start(config);
  if (!server.ok()) throw std::runtime_error(server.status().ToString());
  proxy = std::move(server).value();
}

ProxyHarness::~ProxyHarness() {
  if (proxy) proxy->Stop();
}

std::string ProxyHarness::ConnString(const proxy::ClientCert* cert, const std::string& db,
                                     const std::string& user) const {
  std::string s = "host=127.0.0.1 port=" + std::to_string(proxy->port()) + " dbname=" + db +
                  " user=" + user + " connect_timeout=10";
  if (!config.client_tls) return s + " sslmode=disable";
  s += " sslmode=verify-full sslrootcert=" + pki.ca_cert();
  if (cert)
    s += " sslcert=" + cert->cert + " sslkey=" + cert->key;
  else
    s += " sslcert=/nonexistent.crt sslkey=/nonexistent.key";
  return s;
}

Result<PgConnection> ProxyHarness::Connect(const std::string& cn, const std::string& db,
                                           const std::string& user) {
  proxy::ClientCert cert = pki.Client(cn);
  ASSIGN_OR_RETURN(ConnInfo ci, ConnInfo::Parse(ConnString(&cert, db, user), "proxy"));
  return PgConnection::Connect(ci);
}

HttpResponse ProxyHarness::Admin(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& token) const {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  if (!token.empty()) request.headers["authorization"] = "Bearer " + token;
  auto r = HttpClient("127.0.0.1:" + std::to_string(proxy->admin_port()))
               .Send(request, std::chrono::seconds(30));
  if (!r.ok()) ADD_FAILURE() << r.status().ToString();
  return r.ok() ? *r : HttpResponse{};
}

long ProxyHarness::Metric(const std::string& name, const std::string& cluster) const {
  std::string text = Admin("GET", "/metrics").body;
  std::string key = name + "{cluster=\"" + cluster + "\"} ";
  size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::stol(text.substr(at + key.size()));
}

RawClient::RawClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) closed_ = true;
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::Send(const std::string& bytes) {
  return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
}

std::string RawClient::ReadUntilClosed(std::chrono::milliseconds timeout) {
  std::string out = std::move(pending_);
  pending_.clear();
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (!closed_ && std::chrono::steady_clock::now() < end) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
      break;
    }
    out.append(buf, size_t(n));
  }
  return out;
}

std::string RawClient::ReadExactly(size_t n, std::chrono::milliseconds timeout) {
  std::string out;
  auto end = std::chrono::steady_clock::now() + timeout;
  char c;
  while (out.size() < n && !closed_ && std::chrono::steady_clock::now() < end) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    if (::recv(fd_, &c, 1, 0) != 1) {
      closed_ = true;
      break;
    }
    out.push_back(c);
  }
  return out;
}

std::string RawClient::ReadUntilReady(std::chrono::milliseconds timeout) {
  std::string out;
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (!closed_ && std::chrono::steady_clock::now() < end) {
    // Walk whole messages looking for 'Z'.
    size_t i = 0;
    while (i + 5 <= out.size()) {
      uint32_t len = (uint32_t(uint8_t(out[i + 1])) << 24) | (uint32_t(uint8_t(out[i + 2])) << 16) |
                     (uint32_t(uint8_t(out[i + 3])) << 8) | uint8_t(out[i + 4]);
      if (i + 1 + len > out.size()) break;
      if (out[i] == 'Z') {
        pending_ = out.substr(i + 1 + len);
        return out.substr(0, i + 1 + len);
      }
      i += 1 + len;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
      break;
    }
    out.append(buf, size_t(n));
  }
  return out;
}

std::string ProxyHarness::ConfigCopy(const std::string& file_name, const std::string& listen,
                                     const std::string& admin_listen,
                                     const std::string& extra) const {
  std::ifstream in(config_path);
  std::stringstream text;
  text << in.rdbuf();
  std::string config =
      std::regex_replace(text.str(), std::regex("\nlisten = [^\n]*"), "\nlisten = " + listen);
  config = std::regex_replace(config, std::regex("\nadmin_listen = [^\n]*"),
                              "\nadmin_listen = " + admin_listen + extra);
  std::string path = dir.path() + "/" + file_name;
  std::ofstream(path) << config;
  return path;
}

}  // namespace pgshift::testing
