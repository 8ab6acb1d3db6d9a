// Backend login done by the proxy: connect to a backend endpoint, optionally start TLS,
// send the StartupMessage, answer the server's authentication request (SCRAM-SHA-256, md5
// or cleartext, as the cluster's auth_methods allow) with the password the proxy holds, and
// read up to the first ReadyForQuery. A SCRAM login succeeds only once the server's signature
// verified; over TLS it is bound to the server's certificate when the server offers -PLUS.
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

// Turns read-only off for this session when the server carries the target fence's marker
// (pgshift.target_fence, see platform/target_fence.h): from its promotion until its logical
// slots exist the target is read-only for every client but the proxies, which resumed there
// and must write. A source fence sets no marker, so a proxy cannot write through that one.
// A no-op (no row) on any other server.
// Only on a route an explicit resume confirmed (Endpoint::confirmed): a switch made inside a
// pause that then lapsed must not let sessions commit on the target before its slots exist.
// Schema-qualified: a moved session's write-through runs it after the client's search_path
// was replayed (BackendLink::read_only_default_is_servers).
inline constexpr const char* kWriteThroughTargetFenceSql =
    "SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false) "
    "WHERE pg_catalog.current_setting('pgshift.target_fence', true) = 'on'";
// The same, run later on a backend a session already uses (once its route is confirmed):
// it leaves alone a setting the client chose, in its startup parameters ('client') or with a
// SET or set_config() of its own ('session'). Reading the source from pg_settings lists every
// parameter (~0.4 ms of the server's CPU, paid by each session at once right after a
// cutover's resume), so a backend whose default is known to be the server's runs
// kWriteThroughTargetFenceSql instead.
inline constexpr const char* kDeferredWriteThroughTargetFenceSql =
    "SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false) "
    "FROM pg_catalog.pg_settings WHERE name = 'default_transaction_read_only' "
    "AND source NOT IN ('client', 'session') "
    "AND pg_catalog.current_setting('pgshift.target_fence', true) = 'on'";

// True when the client's startup parameters set default_transaction_read_only (directly or
// in `options`): the server's default then is not the one in force.
bool ClientChoseReadOnlyDefault(const std::map<std::string, std::string>& startup_options);

// True when the last ParameterStatus of `default_transaction_read_only` in `parameters` is on:
// the backend may be on a fenced target without the write-through.
bool ReportsReadOnlyDefault(const std::vector<std::pair<std::string, std::string>>& parameters);

struct BackendLogin {
  std::string cluster;
  Endpoint endpoint;
  std::string database;
  std::string user;
  std::string password;                        // secret
  BackendAuthPolicy auth;                      // methods answered, how TLS is verified
  std::map<std::string, std::string> options;  // other startup parameters of the client
  std::vector<std::string> replay_sql;         // run in order, each must succeed
  std::vector<std::string> replay_parse;       // raw Parse messages, then one Sync
  std::vector<std::string> custom_settings;    // names ReadOldBackendState asks for
  // Run once logged in, its failure ignored: see kWarmUpSql in backend_move.cc.
  std::string warm_up_sql;
  int timeout_ms = 5000;
};

struct BackendLink {
  Transport transport;                                          // non-blocking once returned
  std::vector<std::pair<std::string, std::string>> parameters;  // ParameterStatus
  uint32_t pid = 0, secret = 0;
  bool channel_bound = false;  // SCRAM-SHA-256-PLUS with tls-server-end-point was used
  // Set by a switch: the link's default_transaction_read_only is the server's, since neither
  // the client's startup parameters nor the settings replayed from its old backend set it.
  // Its write-through may then set it without asking pg_settings where it came from.
  bool read_only_default_is_servers = false;
};

// kUnavailable: cannot connect / timeout; kUnauthenticated: login refused (by the server, or
// by the proxy's own rules: auth_methods, the SCRAM checks, tls = verify-full; the message
// says which); kFailedPrecondition: replay of carried state failed. A server's ErrorResponse
// becomes a message ending "(SQLSTATE XXXXX)" (read by RefusalForClient), also when the
// server closes right after it. Messages name the endpoint and role, never the password.
Result<BackendLink> LoginToBackend(const BackendLogin& login, SSL_CTX* backend_tls);

// What a client whose session could not log in to `cluster`'s backend is told: a SQLSTATE of
// the server's class where the client can act on it (53300 too many connections, 3D000 no
// such database), 08004 for a refused login, 08006 for a transient failure. The message names
// the cluster only, never the backend's host, role or the server's words (the log has them).
struct ClientRefusal {
  std::string sqlstate;
  std::string message;
};
ClientRefusal RefusalForClient(const Status& login_failure, const std::string& cluster);

// A link opened earlier to the endpoint a switch now moves the session to (a standby link,
// see Session::PrepareStandby): replays `login`'s carried state on it and leaves it
// non-blocking. A link with anything to read first (a termination, a notice) is checked with a
// Sync; a quiet one is shown alive by the replay's answers. kUnavailable if it died.
Status ReplayOnLink(const BackendLogin& login, BackendLink& link);

// What a switch reads from a session's idle old backend, in one round trip (one Query, two
// statements): who the session runs as, and the session-level settings in force (pg_settings
// with source 'session': every SET and set_config(..., false) still in effect, none rolled
// back; plus `login.custom_settings`, which pg_settings does not list) as statements that
// recreate them (one statement, or none). Asked at a switch, since watching the client's SQL
// cannot see set_config() nor tell a SET later rolled back. `old` is idle and blocking for the
// call (each read at most `timeout_ms`).
struct SessionSettings {
  std::vector<std::string> replay_sql;
  bool sets_read_only_default = false;  // default_transaction_read_only is among them
};
struct OldBackendState {
  std::string current_user, session_user;
  SessionSettings settings;
  Status settings_failed;  // not Ok: the settings are unknown (replay the SETs seen instead)
};
// kUnavailable: no answer (the backend's state is unknown); kFailedPrecondition: the roles
// could not be read. The settings' own failure is in `settings_failed`.
Result<OldBackendState> ReadOldBackendState(const BackendLogin& login, Transport& old,
                                            int timeout_ms);

// Runs kDeferredWriteThroughTargetFenceSql on `backend`, a session's idle backend on
// `login.endpoint` (non-blocking; blocking for the call, at most `login.timeout_ms`). Answers
// the ParameterStatus messages the server sent (default_transaction_read_only off when it
// wrote through). kUnavailable when the backend did not answer (its state is then unknown);
// kFailedPrecondition when the server refused the statement (the backend is idle and usable).
Result<std::vector<std::pair<std::string, std::string>>> WriteThroughTargetFenceNow(
    const BackendLogin& login, Transport& backend);

// Sends a CancelRequest for (pid, secret) to the endpoint (plain TCP, as libpq does).
Status SendCancelRequest(const Endpoint& endpoint, uint32_t pid, uint32_t secret, int timeout_ms);

}  // namespace pgshift::proxy
