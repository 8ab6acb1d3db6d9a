// The proxy's admission policy (mutual TLS identities, roles, clusters, replication).
#include "proxy/admission.h"

#include <cctype>
#include <cstdio>

#include "proxy/wire_format.h"

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
  // The certificate before any other value the client chose: an unauthenticated client
  // learns nothing more than that it needs one.
  if (config.client_tls && !client.identity.ok()) {
    return Refuse("28000", "pgshift: " + client.identity.status().message());
  }
  auto replication = ReplicationModeOf(params);
  if (!replication.ok()) {
    AdmissionDecision d = Refuse("08P01", "pgshift: " + replication.status().message());
    d.replication_refused = true;
    return d;
  }
  if (std::string why = ReplicationRefusal(*replication); !why.empty()) {
    AdmissionDecision d = Refuse("28000", "pgshift: " + why);
    d.replication_refused = true;
    return d;
  }
  std::string identity;
  bool allows_replication = false;
  if (config.client_tls) {
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
    allows_replication = it->second.replication;
  }
  if (*replication == ReplicationMode::kLogical && !allows_replication) {
    // A replication session can create slots (which hold WAL on the server until its disk
    // fills) and is neither held by a pause nor ended by the fence: only identities named
    // for it may open one.
    AdmissionDecision d = Refuse(
        "28000", config.client_tls
                     ? "pgshift: identity \"" + identity +
                           "\" may not open replication connections (replication=database)"
                     : std::string("pgshift: replication connections (replication=database) "
                                   "require a client certificate whose identity allows them"));
    d.replication_refused = true;
    return d;
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
  d.identity_allows_replication = allows_replication;
  return d;
}

namespace {

// The first keywords of PostgreSQL 15's replication grammar (src/backend/replication/
// repl_gram.y), SHOW excepted: what walsender.c runs as a replication command rather than SQL.
constexpr std::string_view kReplicationCommands[] = {
    "IDENTIFY_SYSTEM",       "CREATE_REPLICATION_SLOT", "START_REPLICATION",
    "READ_REPLICATION_SLOT", "DROP_REPLICATION_SLOT",   "TIMELINE_HISTORY",
    "BASE_BACKUP",
};

bool IsReplicationCommand(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
  size_t end = i;
  while (end < sql.size() &&
         (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
    ++end;
  }
  std::string_view word = sql.substr(i, end - i);
  for (std::string_view command : kReplicationCommands) {
    if (word.size() != command.size()) continue;
    bool same = true;
    for (size_t k = 0; k < word.size() && same; ++k) {
      same = std::toupper(static_cast<unsigned char>(word[k])) == command[k];
    }
    if (same) return true;
  }
  return false;
}

}  // namespace

bool ReplicationMessageAllowed(char type, std::string_view msg, bool complete, bool sql_allowed) {
  if (sql_allowed) return true;
  namespace t = wire::type;
  switch (type) {
    case t::kQuery:
      // The body: after the type byte and length word, NUL-terminated text.
      return complete && msg.size() > 5 && IsReplicationCommand(msg.substr(5));
    case t::kCopyData:  // START_REPLICATION's stream: standby status updates
    case t::kCopyDone:
    case t::kCopyFail:
    case t::kTerminate:
      return true;
    default:
      return false;  // extended protocol, function calls: SQL by another door
  }
}

std::string EscapedForLog(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace pgshift::proxy
