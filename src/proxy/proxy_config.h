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

// How the proxy authenticates to a cluster's backends and proves who they are (issue 14).
// The methods are the ones the proxy answers, like libpq's require_auth: a server asking for
// another is refused, so nothing that answers for the backend's address collects the password
// in a weaker form than allowed. `none` allows a server that asks for no password at all.
struct BackendAuthPolicy {
  bool scram = true;      // scram-sha-256 (the server's signature is always checked)
  bool md5 = false;       // md5
  bool password = false;  // password (cleartext)
  bool none = false;      // none (trust)
  // tls = verify-full: the backend's certificate must chain to `ca_file` and name
  // `server_name` (the endpoint's host when empty).
  bool verify_full = false;
  std::string ca_file;
  std::string server_name;
};

// One logical database ("cluster") that clients name as their dbname.
struct ClusterConfig {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string database;  // backend database name; defaults to the cluster name
  std::string user;      // backend role the proxy logs in as
  std::string password;  // secret: from password_file
  BackendTls tls = BackendTls::kDisable;
  BackendAuthPolicy auth;  // auth_methods, tls = verify-full, tls_ca_file, tls_server_name
};

// What a client certificate identity (CN or URI SAN) may reach. "*" allows any.
struct IdentityConfig {
  std::string name;
  std::set<std::string> databases;
  std::set<std::string> roles;
  // May open logical replication connections (replication=database): off by default, since
  // such a session can create slots that hold WAL on the server, and is neither held by a
  // pause nor ended by the cutover's fence.
  bool replication = false;
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
  // HTTPS for the admin API (PEM files), both or neither. Required to bind admin_listen beyond
  // loopback: the bearer token must not cross a network in clear.
  std::string admin_tls_cert, admin_tls_key;
  int admin_listen_line = 0;  // where admin_listen was set, for the validation's error
  // Where switched routes are persisted: "<config file>.routes" (route_persistence.h). Set by
  // LoadProxyConfig; empty (text parsed without a file): routes are not persisted.
  std::string route_file;
  bool client_tls = true;  // off only for benchmarks: then identities are not checked
  std::string tls_cert, tls_key, client_ca;
  int threads = 2;
  size_t buffer_bytes = 64 * 1024;  // per direction per session
  IoEngine io_engine = IoEngine::kEpoll;
  int connect_timeout_ms = 5000;
  // Client connections held at once, authenticated or not (past it: refused with 53300), and
  // those of one address still in their handshake (docs/proxy.md, "Limits").
  int max_client_connections = 4096;
  int max_pending_handshakes_per_address = 128;
  // The backend pool (backend_pool.h): idle backends kept per cluster and startup key (0: no
  // pooling), and how long one may wait idle before it is closed.
  int pool_size = 8;
  int pool_idle_timeout_s = 60;
  std::map<std::string, ClusterConfig> clusters;
  std::map<std::string, IdentityConfig> identities;
  // Things worth an operator's attention that do not stop the proxy (e.g. a secret file
  // readable by group or others), each naming file and line, never a secret. LoadProxyConfig
  // also logs them.
  std::vector<std::string> warnings;
};

// Reads and validates the file at `path`. kInvalidArgument naming "path:line: key: problem".
// Comments: a line whose first non-blank character is `#` or `;`, and, after a value or a
// section header, everything from a `#` that follows a space or tab (a `#` inside a value,
// as in `a#b`, is kept).
Result<ProxyConfig> LoadProxyConfig(const std::string& path);
// The same over text already read; `origin` names it in errors.
Result<ProxyConfig> ParseProxyConfig(const std::string& text, const std::string& origin);

}  // namespace pgshift::proxy
