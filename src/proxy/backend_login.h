// Backend login done by the proxy: connect to a backend endpoint, optionally start TLS,
// send the StartupMessage, answer the server's authentication request (SCRAM-SHA-256, md5
// or cleartext) with the password the proxy holds, and read up to the first ReadyForQuery.
// For a switch it then replays the session's carried state (SET statements, named prepared
// statements). Blocking, bounded by a timeout: it runs on the connector pool, never on an
// event loop. Errors name the endpoint and role, never the password.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "proxy/route_table.h"
#include "proxy/tls_context.h"
#include "proxy/transport.h"

namespace pgshift::proxy {

struct BackendLogin {
  std::string cluster;
  Endpoint endpoint;
  std::string database;
  std::string user;
  std::string password;                        // secret
  std::map<std::string, std::string> options;  // other startup parameters of the client
  std::vector<std::string> replay_sql;         // run in order, each must succeed
  std::vector<std::string> replay_parse;       // raw Parse messages, then one Sync
  // Run once logged in, its failure ignored: see kWarmUpSql in session.cc.
  std::string warm_up_sql;
  int timeout_ms = 5000;
};

struct BackendLink {
  Transport transport;                                          // non-blocking once returned
  std::vector<std::pair<std::string, std::string>> parameters;  // ParameterStatus
  uint32_t pid = 0, secret = 0;
};

// kUnavailable: cannot connect / timeout; kUnauthenticated: login refused;
// kFailedPrecondition: replay of carried state failed.
Result<BackendLink> LoginToBackend(const BackendLogin& login, SSL_CTX* backend_tls);

// A link opened earlier to the endpoint a switch now moves the session to (a standby link,
// see Session::PrepareStandby): checks it is still alive (Sync -> ReadyForQuery), replays
// `login`'s carried state on it, and leaves it non-blocking. kUnavailable if it died.
Status ReplayOnLink(const BackendLogin& login, BackendLink& link);

// Sends a CancelRequest for (pid, secret) to the endpoint (plain TCP, as libpq does).
Status SendCancelRequest(const Endpoint& endpoint, uint32_t pid, uint32_t secret, int timeout_ms);

}  // namespace pgshift::proxy
