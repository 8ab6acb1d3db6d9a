// Admission: whether a client may use the proxy, and as what, decided from what the client
// presented (whether it came over TLS, its certificate's identity, its startup parameters)
// and the proxy's configuration alone. No sockets and no state, so the whole mTLS policy is
// testable as a table; the session only carries the decision out (a FATAL error with the
// decision's SQLSTATE, or a login to the decided cluster).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "proxy/proxy_config.h"
#include "proxy/replication_startup.h"

namespace pgshift::proxy {

// What the client presented besides its startup parameters.
struct ClientCredentials {
  // The startup packet came over TLS (after an SSLRequest the proxy accepted).
  bool over_tls = false;
  // Its certificate's verified identity (URI SAN, else CN: VerifiedClientIdentity), or why
  // there is none. Consulted only when the proxy requires client TLS.
  Result<std::string> identity = Unauthenticated("no TLS channel");
};

struct AdmissionDecision {
  // A refusal: the SQLSTATE and message of the FATAL error the client is told; nullptr when
  // admitted.
  const char* sqlstate = nullptr;
  std::string message;
  // An admission: the cluster's name (the client's database) and configuration (points
  // into the ProxyConfig decided on), the identity admitted ("" with client_tls off), and
  // kNone or kLogical.
  std::string database;
  const ClusterConfig* cluster = nullptr;
  std::string identity;
  ReplicationMode replication = ReplicationMode::kNone;
  // The identity has `replication = on` (ReplicationMessageAllowed's `sql_allowed`).
  bool identity_allows_replication = false;
  // A refusal because of the `replication` parameter or the identity's replication right
  // (counted apart: pgshift_proxy_replication_refused_total).
  bool replication_refused = false;

  bool admitted() const { return sqlstate == nullptr; }
};

// The checks, in the order a client meets them: TLS required; a user name; with client
// TLS, a verified certificate (before anything else the client sent is looked at); a valid
// and served `replication` value; with client TLS, an identity that is configured and allows
// the database and the role; for replication=database, an identity with `replication = on`
// (none without client TLS: no identity, no replication); a cluster of that name; the role
// being the cluster's `user` (the only role the proxy holds a password for). The database
// defaults to the user, as in PostgreSQL. Messages are docs/proxy.md's "Refusals" table.
AdmissionDecision DecideAdmission(const ProxyConfig& config, const ClientCredentials& client,
                                  const std::map<std::string, std::string>& params);

// Whether a logical replication session may send the client message `type` (whole message
// `msg`, type byte included, when `complete`). Over such a connection the walsender runs
// replication commands and, in database mode, any SQL too; the proxy lets through only the
// replication commands of PostgreSQL 15's replication grammar (IDENTIFY_SYSTEM,
// CREATE_REPLICATION_SLOT, START_REPLICATION, READ_REPLICATION_SLOT, DROP_REPLICATION_SLOT,
// TIMELINE_HISTORY, BASE_BACKUP), the COPY stream of START_REPLICATION and Terminate, unless
// `sql_allowed` (the identity has `replication = on`: pg_recvlogical and subscribers run SQL
// such as set_config or a table copy over it). SHOW is in the grammar but refused with SQL.
bool ReplicationMessageAllowed(char type, std::string_view msg, bool complete, bool sql_allowed);

// `text` made safe for one log line: backslash and control characters are written as \\,
// \n, \r, \t or \xNN, so a client's value cannot forge or split log lines.
std::string EscapedForLog(std::string_view text);

}  // namespace pgshift::proxy
