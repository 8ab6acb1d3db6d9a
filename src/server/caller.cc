// Bearer tokens and client certificates to callers.
#include "server/caller.h"

#include "server/api_token.h"

namespace pgshift::server {

Result<Caller> IdentifyCaller(const HttpRequest& request, ControlStore& store,
                              const ServerConfig& config) {
  const std::string auth = request.Header("authorization");
  if (!auth.empty()) {
    const std::string scheme = "Bearer ";
    if (auth.size() <= scheme.size() || auth.compare(0, scheme.size(), scheme) != 0) {
      return Unauthenticated("the Authorization header is not 'Bearer <token>'");
    }
    const std::string token = auth.substr(scheme.size());
    if (!LooksLikeApiToken(token)) return Unauthenticated("unknown token");
    const std::string hash = Sha256Hex(token);
    auto found = store.FindToken(hash);
    if (!found.ok()) {
      if (found.status().code() == Code::kNotFound) return Unauthenticated("unknown token");
      return found.status();
    }
    if (!ConstantTimeEquals(found->sha256_hex, hash)) return Unauthenticated("unknown token");
    Caller c;
    c.identity = "token:" + (found->label.empty() ? found->sha256_hex.substr(0, 8) : found->label);
    c.team = found->team;
    c.platform = found->platform || found->team == config.platform_team;
    return c;
  }
  if (!request.peer_common_name.empty()) {
    const std::string team = config.TeamOfCertificate(request.peer_common_name);
    if (team.empty()) {
      return Unauthenticated("client certificate '" + request.peer_common_name +
                             "' acts for no team (client_cert_cn)");
    }
    return Caller{"cert:" + request.peer_common_name, team, team == config.platform_team};
  }
  return Unauthenticated("no credentials: send 'Authorization: Bearer <token>'");
}

}  // namespace pgshift::server
