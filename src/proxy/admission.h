// Admission: whether a client may use the proxy, and as what, decided from what the client
// presented (whether it came over TLS, its certificate's identity, its startup parameters)
// and the proxy's configuration alone. No sockets and no state, so the whole mTLS policy is
// testable as a table; the session only carries the decision out (a FATAL error with the
// decision's SQLSTATE, or a login to the decided cluster).
#pragma once

#include <map>
#include <string>

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

  bool admitted() const { return sqlstate == nullptr; }
};

// The checks, in the order a client meets them: TLS required; a user name; a valid and
// served `replication` value; with client TLS, a verified identity that is configured and
// allows the database and the role; a cluster of that name; the role being the cluster's
// `user` (the only role the proxy holds a password for). The database defaults to the user,
// as in PostgreSQL. Messages are docs/proxy.md's "Refusals" table.
AdmissionDecision DecideAdmission(const ProxyConfig& config, const ClientCredentials& client,
                                  const std::map<std::string, std::string>& params);

}  // namespace pgshift::proxy
