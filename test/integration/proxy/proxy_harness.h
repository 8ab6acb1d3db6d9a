// ProxyHarness: a real PostgreSQL primary prepared for the proxy (role "app" with a SCRAM
// password, database "appdb"), a test PKI, a config file and an in-process ProxyServer.
// Identity svc-orders has `replication = on` (replication tests stream through it);
// spiffe://example.org/billing reaches every cluster but may not replicate.
// Clients reach it with libpq over mutual TLS, or with raw sockets for protocol abuse.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "fixture/certificates.h"
#include "fixture/pg_cluster.h"
#include "http/http_client.h"
#include "pg/connection.h"
#include "proxy/proxy_config.h"
#include "proxy/proxy_server.h"

namespace pgshift::testing {

constexpr const char* kAppPassword = "app-backend-secret-42";
constexpr const char* kAdminToken = "admin-token-test-7";

struct HarnessOptions {
  bool client_tls = true;
  int threads = 2;
  std::string io_engine;     // empty: PGSHIFT_TEST_IO_ENGINE, else the proxy's default
  std::string extra_config;  // appended to the config file (more clusters, identities)
  std::string proxy_config;  // more lines of [proxy] (e.g. "pool_size = 0\n")
};

class ProxyHarness {
 public:
  explicit ProxyHarness(HarnessOptions options = {});
  ~ProxyHarness();

  // Creates role app (password kAppPassword) and database appdb owned by it.
  static void PrepareBackend(const PgCluster& pg);

  // libpq conninfo reaching the proxy with client certificate `cert` (empty: none).
  std::string ConnString(const proxy::ClientCert* cert, const std::string& db = "orders",
                         const std::string& user = "app") const;
  Result<PgConnection> Connect(const std::string& cn = "svc-orders",
                               const std::string& db = "orders", const std::string& user = "app");
  // Admin API call with the right token (or `token` when given).
  HttpResponse Admin(const std::string& method, const std::string& path,
                     const std::string& body = "", const std::string& token = kAdminToken) const;
  // A pgshift proxy metric value for a cluster, -1 when absent.
  long Metric(const std::string& name, const std::string& cluster = "orders") const;

  std::unique_ptr<PgCluster> primary;
  TestPki pki;
  TempDir dir{"pgshift-proxy"};
  proxy::ProxyConfig config;
  std::unique_ptr<proxy::ProxyServer> proxy;
  std::string config_path, password_path;

  // A copy of the config file with `listen` and `admin_listen` replaced (and `extra` lines
  // after admin_listen, in [proxy]), written as `file_name` beside it so that its relative
  // paths (token, password, certificates) resolve the same. Returns its path.
  std::string ConfigCopy(const std::string& file_name, const std::string& listen,
                         const std::string& admin_listen, const std::string& extra = "") const;
};

// Raw protocol access for malformed-input tests.
class RawClient {
 public:
  explicit RawClient(int port);
  ~RawClient();
  bool Send(const std::string& bytes);
  // Reads everything until the proxy closes or `timeout` passes.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until a ReadyForQuery arrives; returns what was read.
  std::string ReadUntilReady(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads exactly n bytes (fewer if the proxy closes or the timeout passes).
  std::string ReadExactly(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string pending_;
};

}  // namespace pgshift::testing
