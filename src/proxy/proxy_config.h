// ProxyConfig: what `pgshift proxy` serves, read from an INI-like file (docs/proxy.md).
// Validation names the file's line and key for every complaint; passwords are read from
// their files at load time and never appear in any message.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift::proxy {

enum class BackendTls { kDisable, kRequire };

// One logical database ("cluster") that clients name as their dbname.
struct ClusterConfig {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string database;  // backend database name; defaults to the cluster name
  std::string user;      // backend role the proxy logs in as
  std::string password;  // secret: from password_file
  BackendTls tls = BackendTls::kDisable;
};

// What a client certificate identity (CN or URI SAN) may reach. "*" allows any.
struct IdentityConfig {
  std::string name;
  std::set<std::string> databases;
  std::set<std::string> roles;
  bool AllowsDatabase(const std::string& db) const;
  bool AllowsRole(const std::string& role) const;
};

// How a worker moves bytes on plain sockets. kIoUring batches the turn's sends and the wait
// for readiness into one io_uring_enter (see worker.h); TLS sockets always use kEpoll's calls.
enum class IoEngine { kEpoll, kIoUring };

struct ProxyConfig {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  std::string admin_host = "127.0.0.1";
  int admin_port = 0;
  std::string admin_token;  // secret: from admin_token_file
  bool client_tls = true;   // off only for benchmarks: then identities are not checked
  std::string tls_cert, tls_key, client_ca;
  int threads = 2;
  size_t buffer_bytes = 64 * 1024;  // per direction per session
  IoEngine io_engine = IoEngine::kEpoll;
  int connect_timeout_ms = 5000;
  // Client connections held at once, authenticated or not (past it: refused with 53300), and
  // those of one address still in their handshake (docs/proxy.md, "Limits").
  int max_client_connections = 4096;
  int max_pending_handshakes_per_address = 128;
  std::map<std::string, ClusterConfig> clusters;
  std::map<std::string, IdentityConfig> identities;
};

// Reads and validates the file at `path`. kInvalidArgument naming "path:line: key: problem".
Result<ProxyConfig> LoadProxyConfig(const std::string& path);
// The same over text already read; `origin` names it in errors.
Result<ProxyConfig> ParseProxyConfig(const std::string& text, const std::string& origin);

}  // namespace pgshift::proxy
