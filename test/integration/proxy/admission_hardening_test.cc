// Issue 14's admission and configuration items, through a real proxy with real certificates:
// who may open replication connections, the certificate checked before anything else the
// client chose, refusals logged escaped, refusals counted apart from protocol errors and
// failed TLS handshakes, and the documented example configuration loading as written.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "proxy/wire_format.h"
#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

namespace wire = proxy::wire;

// The refusal libpq reports for `conninfo`, "" when it connected.
std::string ConnectError(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string err = PQstatus(c) == CONNECTION_OK ? "" : PQerrorMessage(c);
  PQfinish(c);
  return err;
}

// Lines the process logs (info and above) while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    auto logger = spdlog::default_logger();
    level_ = logger->level();
    logger->sinks().push_back(sink_);
    logger->set_level(spdlog::level::info);
  }
  ~LogCapture() {
    auto logger = spdlog::default_logger();
    logger->set_level(level_);
    auto& sinks = logger->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::vector<std::string> Lines() const { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

TEST(ProxyReplicationRight, OnlyIdentitiesWithReplicationOnMayOpenReplicationConnections) {
  ProxyHarness h;  // svc-orders has replication = on; spiffe://example.org/billing has not
  h.primary->Sql("ALTER ROLE app REPLICATION");
  proxy::ClientCert billing = h.pki.Client("x", "spiffe://example.org/billing");
  proxy::ClientCert orders = h.pki.Client("svc-orders");

  std::string refused = ConnectError(h.ConnString(&billing) + " replication=database");
  EXPECT_NE(refused.find("pgshift: identity \"spiffe://example.org/billing\" may not open "
                         "replication connections (replication=database)"),
            std::string::npos)
      << refused;
  EXPECT_EQ(refused.find(std::to_string(h.primary->port())), std::string::npos) << refused;
  // Its ordinary sessions are unaffected; the identity allowed replication gets in.
  EXPECT_EQ(ConnectError(h.ConnString(&billing)), "");
  EXPECT_EQ(ConnectError(h.ConnString(&orders) + " replication=database"), "");

  EXPECT_EQ(h.Metric("pgshift_proxy_replication_refused_total", ""), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_auth_rejected_total", ""), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_replication_sessions_opened_total"), 1);
}

TEST(ProxyReplicationRight, PhysicalReplicationRefusalIsAWholeSentence) {
  ProxyHarness h;
  proxy::ClientCert orders = h.pki.Client("svc-orders");
  std::string refused = ConnectError(h.ConnString(&orders) + " replication=true");
  EXPECT_NE(refused.find("FATAL:  pgshift: physical replication connections are not served by "
                         "the proxy (standbys and pg_basebackup must connect to the server "
                         "itself); logical replication (replication=database) is served to "
                         "identities allowed it\n"),
            std::string::npos)
      << refused;
}

TEST(ProxyAdmissionOrder, AClientWithoutACertificateIsToldSoWhateverItsReplicationValue) {
  ProxyHarness h;
  for (const char* value : {"sometimes", "true", "database"}) {
    std::string refused =
        ConnectError(h.ConnString(nullptr) + " replication=" + std::string(value));
    EXPECT_NE(refused.find("pgshift: a client certificate is required"), std::string::npos)
        << value << ": " << refused;
    EXPECT_EQ(refused.find("replication"), std::string::npos) << value << ": " << refused;
  }
  EXPECT_EQ(h.Metric("pgshift_proxy_replication_refused_total", ""), 0);
}

TEST(ProxyAdmissionLog, ARefusedValueWithANewlineIsLoggedEscaped) {
  LogCapture log;
  {
    ProxyHarness h{HarnessOptions{.client_tls = false}};
    RawClient raw(h.proxy->port());
    ASSERT_TRUE(raw.Send(wire::StartupMessage(
        {{"user", "app"}, {"database", "orders"}, {"replication", "bogus\nFORGED log line"}})));
    std::string answer = raw.ReadUntilClosed();
    ASSERT_FALSE(answer.empty());
    EXPECT_EQ(answer[0], 'E');
    EXPECT_NE(answer.find("08P01"), std::string::npos);
  }
  bool escaped = false;
  for (const std::string& line : log.Lines()) {
    if (line.find("refused: pgshift: invalid value for parameter") == std::string::npos) continue;
    EXPECT_NE(line.find("\"bogus\\nFORGED log line\""), std::string::npos) << line;
    // One line: the formatted entry ends with its own newline only.
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    escaped = true;
  }
  EXPECT_TRUE(escaped) << "no refusal logged";
}

// An SSLRequest as libpq sends it.
std::string SslRequest() {
  std::string out;
  wire::AppendU32(out, 8);
  wire::AppendU32(out, uint32_t(wire::kSslRequestCode));
  return out;
}

TEST(ProxyRefusalMetrics, ProtocolErrorsAndFailedHandshakesAreNotCountedAsAuthRejections) {
  ProxyHarness h;
  {
    RawClient raw(h.proxy->port());
    std::string absurd;
    wire::AppendU32(absurd, 3);  // below the smallest startup packet
    wire::AppendU32(absurd, 0);
    ASSERT_TRUE(raw.Send(absurd));
    raw.ReadUntilClosed();
    ASSERT_TRUE(raw.closed());
  }
  {
    RawClient raw(h.proxy->port());
    ASSERT_TRUE(raw.Send(SslRequest()));
    ASSERT_EQ(raw.ReadExactly(1), "S");
    ASSERT_TRUE(raw.Send(std::string("GET / HTTP/1.1\r\nHost: not-tls\r\n\r\n")));
    raw.ReadUntilClosed();
    ASSERT_TRUE(raw.closed());
  }
  EXPECT_EQ(h.Metric("pgshift_proxy_protocol_errors_total", ""), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_tls_handshake_failures_total", ""), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_auth_rejected_total", ""), 0);
  // A real admission refusal is an auth rejection.
  EXPECT_NE(ConnectError(h.ConnString(nullptr)), "");
  EXPECT_EQ(h.Metric("pgshift_proxy_auth_rejected_total", ""), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_protocol_errors_total", ""), 1);
}

// The ```ini block of docs/proxy.md's "## Configuration" section, verbatim.
std::string DocumentedExample() {
  std::ifstream in(std::string(PGSHIFT_SOURCE_DIR) + "/docs/proxy.md");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  size_t section = doc.find("\n## Configuration\n");
  if (section == std::string::npos) return "";
  size_t open = doc.find("```ini\n", section);
  if (open == std::string::npos) return "";
  open += 7;
  size_t close = doc.find("```", open);
  return close == std::string::npos ? "" : doc.substr(open, close - open);
}

TEST(ProxyConfigDocs, TheDocumentedExampleLoadsAsWritten) {
  std::string example = DocumentedExample();
  ASSERT_NE(example, "") << "no ```ini block under ## Configuration in docs/proxy.md";
  TempDir dir{"pgshift-doc-config"};
  // The files it names, relative to its folder (the TLS files only need to be readable here).
  for (const char* file : {"admin.token", "app.password", "server.crt", "server.key", "ca.crt",
                           "admin.crt", "admin.key", "backend-ca.crt"}) {
    std::string path = dir.path() + "/" + file;
    std::ofstream(path) << "placeholder-" << file << "\n";
    std::filesystem::permissions(path, std::filesystem::perms(0600));
  }
  std::string path = dir.path() + "/proxy.ini";
  std::ofstream(path) << example;
  auto config = proxy::LoadProxyConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString() << "\n" << example;
  EXPECT_EQ(config->listen_port, 6432);
  EXPECT_EQ(config->admin_port, 6433);
  EXPECT_EQ(config->threads, 2);
  EXPECT_TRUE(config->client_tls);
  const proxy::ClusterConfig& orders = config->clusters.at("orders");
  EXPECT_EQ(orders.database, "appdb");
  EXPECT_EQ(orders.user, "app");
  EXPECT_EQ(orders.port, 5432);
  const proxy::IdentityConfig& svc = config->identities.at("svc-orders");
  EXPECT_EQ(svc.databases, (std::set<std::string>{"orders"}));
  EXPECT_EQ(svc.roles, (std::set<std::string>{"app"}));
  EXPECT_FALSE(svc.replication);
  EXPECT_TRUE(config->warnings.empty());
}

TEST(ProxyConfigSecrets, ASecretFileOthersMayReadIsWarnedAboutByNameNotContent) {
  std::string example = DocumentedExample();
  ASSERT_NE(example, "");
  TempDir dir{"pgshift-loose-secret"};
  for (const char* file : {"admin.token", "app.password", "server.crt", "server.key", "ca.crt",
                           "admin.crt", "admin.key", "backend-ca.crt"}) {
    std::string path = dir.path() + "/" + file;
    std::ofstream(path) << "secret-content-of-" << file << "\n";
    std::filesystem::permissions(path, std::filesystem::perms(0600));
  }
  std::filesystem::permissions(dir.path() + "/app.password", std::filesystem::perms(0644));
  std::string path = dir.path() + "/proxy.ini";
  std::ofstream(path) << example;
  LogCapture log;
  auto config = proxy::LoadProxyConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  bool warned = false;
  for (const std::string& line : log.Lines()) {
    if (line.find("is readable by group or others") == std::string::npos) continue;
    EXPECT_NE(line.find("[warning]"), std::string::npos) << line;
    EXPECT_NE(line.find("password_file: secret file " + dir.path() + "/app.password"),
              std::string::npos)
        << line;
    EXPECT_EQ(line.find("secret-content"), std::string::npos) << line;
    warned = true;
  }
  EXPECT_TRUE(warned) << "no warning logged";
}

}  // namespace
}  // namespace pgshift::testing
