// DemoProxy: the data access layer in front of one demo cluster: `pgshift proxy` in-process,
// mutual TLS toward the application (a client certificate with CN demo-app), SCRAM toward
// PostgreSQL with the application role's password, which only the proxy holds. Its admin
// endpoint (with a token file) is what a migration pauses and switches.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "pg/conninfo.h"
#include "proxy/dev_pki.h"
#include "proxy/proxy_server.h"

namespace pgshift::demo {

struct DemoProxy {
  // The proxy's logical database, the application's role.
  static constexpr const char* kCluster = "appdb";

  std::unique_ptr<proxy::ProxyServer> server;
  proxy::DevPki pki;
  proxy::ClientCert client;
  std::string token_file;  // the admin API's token
  std::string app_user;

  // Certificates, token and password files and proxy.ini go into `dir`.
  static Result<DemoProxy> Start(const std::string& dir, int backend_port,
                                 const std::string& app_user, const std::string& app_password);
  // What the application uses: a certificate, no password.
  ConnInfo AppEndpoint() const { return EndpointWith(client); }
  // pgbench runs as the postgres user, and libpq insists that a client key belong to the user
  // reading it: pgbench gets its own copy of the certificate and key.
  Result<ConnInfo> PostgresUserEndpoint(const std::string& dir) const;
  ConnInfo EndpointWith(const proxy::ClientCert& cert) const;
  // "127.0.0.1:PORT" of the admin API.
  std::string AdminAddress() const;
  // The migration's router spec: this proxy's admin endpoint and token file.
  nlohmann::json Router() const;
};

}  // namespace pgshift::demo
