// The demo's in-process proxy.
#include "demo/demo_proxy.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "demo/secret_file.h"
#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "proxy/proxy_config.h"
#include "workflow/router_spec.h"

namespace fs = std::filesystem;

namespace pgshift::demo {

Result<DemoProxy> DemoProxy::Start(const std::string& dir, int backend_port,
                                   const std::string& app_user, const std::string& app_password) {
  DemoProxy p;
  p.app_user = app_user;
  ASSIGN_OR_RETURN(p.pki, proxy::DevPki::Create(dir + "/pki"));
  ASSIGN_OR_RETURN(p.client, p.pki.Client("demo-app"));
  p.token_file = dir + "/admin.token";
  RETURN_IF_ERROR(WriteSecretFile(p.token_file, RandomSecret()));
  RETURN_IF_ERROR(WriteSecretFile(dir + "/app.password", app_password));
  ASSIGN_OR_RETURN(int port, ReservePort());
  ASSIGN_OR_RETURN(int admin, ReservePort());
  std::string path = dir + "/proxy.ini";
  std::ofstream(path) << "[proxy]\nlisten = 127.0.0.1:" << port
                      << "\nadmin_listen = 127.0.0.1:" << admin
                      << "\nadmin_token_file = " << p.token_file << "\nthreads = 2"
                      << "\ntls_cert = " << p.pki.server_cert << "\ntls_key = " << p.pki.server_key
                      << "\nclient_ca = " << p.pki.ca_cert << "\n\n[cluster " << kCluster
                      << "]\nhost = 127.0.0.1\nport = " << backend_port
                      << "\ndatabase = postgres\nuser = " << app_user << "\npassword_file = " << dir
                      << "/app.password"
                      << "\n\n[identity demo-app]\ndatabases = " << kCluster
                      << "\nroles = " << app_user << "\n";
  ASSIGN_OR_RETURN(proxy::ProxyConfig cfg, proxy::LoadProxyConfig(path));
  ASSIGN_OR_RETURN(p.server, proxy::ProxyServer::Start(cfg));
  return p;
}

Result<ConnInfo> DemoProxy::PostgresUserEndpoint(const std::string& dir) const {
  ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
  proxy::ClientCert copy{dir + "/pgbench-client.crt", dir + "/pgbench-client.key"};
  std::error_code ec;
  fs::copy_file(client.cert, copy.cert, fs::copy_options::overwrite_existing, ec);
  fs::copy_file(client.key, copy.key, fs::copy_options::overwrite_existing, ec);
  if (ec || chown(copy.cert.c_str(), ids.uid, ids.gid) != 0 ||
      chown(copy.key.c_str(), ids.uid, ids.gid) != 0) {
    return Unavailable("cannot hand the client certificate to the postgres user in " + dir);
  }
  return EndpointWith(copy);
}

ConnInfo DemoProxy::EndpointWith(const proxy::ClientCert& cert) const {
  return ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(server->port()) +
                             " dbname=" + kCluster + " user=" + app_user +
                             " sslmode=verify-full sslrootcert=" + pki.ca_cert +
                             " sslcert=" + cert.cert + " sslkey=" + cert.key,
                         "proxy")
      .value();
}

std::string DemoProxy::AdminAddress() const {
  return "127.0.0.1:" + std::to_string(server->admin_port());
}

nlohmann::json DemoProxy::Router() const {
  return RouterSpec::Proxy(kCluster, {{AdminAddress(), token_file}}).ToJson();
}

}  // namespace pgshift::demo
