// The proxy's admission policy (mutual TLS identities, roles, clusters, replication).
#include "proxy/admission.h"

namespace pgshift::proxy {
namespace {

AdmissionDecision Refuse(const char* sqlstate, std::string message) {
  AdmissionDecision d;
  d.sqlstate = sqlstate;
  d.message = std::move(message);
  return d;
}

const std::string& ParamOr(const std::map<std::string, std::string>& params,
                           const std::string& name, const std::string& otherwise) {
  auto it = params.find(name);
  return it == params.end() ? otherwise : it->second;
}

}  // namespace

AdmissionDecision DecideAdmission(const ProxyConfig& config, const ClientCredentials& client,
                                  const std::map<std::string, std::string>& params) {
  if (config.client_tls && !client.over_tls) {
    return Refuse("28000",
                  "pgshift: TLS with a client certificate is required (use sslmode=verify-full "
                  "with sslcert and sslkey)");
  }
  static const std::string kEmpty;
  const std::string& user = ParamOr(params, "user", kEmpty);
  // A database parameter present but empty is kept (PostgreSQL then fails to find it).
  const std::string& database = ParamOr(params, "database", user);
  if (user.empty()) return Refuse("28000", "pgshift: no user name in the startup packet");
  auto replication = ReplicationModeOf(params);
  if (!replication.ok()) return Refuse("08P01", "pgshift: " + replication.status().message());
  if (std::string why = ReplicationRefusal(*replication); !why.empty()) {
    return Refuse("28000", "pgshift: " + why);
  }
  std::string identity;
  if (config.client_tls) {
    if (!client.identity.ok()) {
      return Refuse("28000", "pgshift: " + client.identity.status().message());
    }
    identity = *client.identity;
    auto it = config.identities.find(identity);
    if (it == config.identities.end()) {
      return Refuse("28000", "pgshift: certificate identity \"" + identity +
                                 "\" is not allowed by this proxy");
    }
    if (!it->second.AllowsDatabase(database)) {
      return Refuse("28000", "pgshift: identity \"" + identity +
                                 "\" may not connect to database \"" + database + "\"");
    }
    if (!it->second.AllowsRole(user)) {
      return Refuse("28000",
                    "pgshift: identity \"" + identity + "\" may not use role \"" + user + "\"");
    }
  }
  auto cl = config.clusters.find(database);
  if (cl == config.clusters.end()) {
    return Refuse("3D000", "pgshift: database \"" + database + "\" is not served by this proxy");
  }
  if (cl->second.user != user) {
    return Refuse("28000", "pgshift: role \"" + user +
                               "\" has no credential at this proxy for database \"" + database +
                               "\"");
  }
  AdmissionDecision d;
  d.database = database;
  d.cluster = &cl->second;
  d.identity = std::move(identity);
  d.replication = *replication;
  return d;
}

}  // namespace pgshift::proxy
