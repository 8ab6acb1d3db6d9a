// Caller: who sent a request, and the one function that decides it from the request:
// a bearer token (looked up by its SHA-256, the stored hash compared in constant time) or a
// client certificate the TLS layer verified whose common name a team's client_cert_cn names.
// A token wins over a certificate when both come. The platform flag comes from the token, or
// from being a member of the configured platform team.
#pragma once

#include <string>

#include "common/status.h"
#include "http/http_message.h"
#include "server/server_config.h"
#include "store/control_store.h"

namespace pgshift::server {

struct Caller {
  std::string identity;  // "token:LABEL" or "cert:CN"
  std::string team;
  bool platform = false;
};

// kUnauthenticated (no credential, malformed, unknown token, unmapped certificate);
// kUnavailable when the store cannot be read.
Result<Caller> IdentifyCaller(const HttpRequest& request, ControlStore& store,
                              const ServerConfig& config);

}  // namespace pgshift::server
