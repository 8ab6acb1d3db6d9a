// Authenticated: wraps an API handler so that every request is identified, answered, counted
// and audited the same way. An unauthenticated request is answered 401 and audited; an
// authenticated one runs the handler with its Caller and a RequestAudit the handler fills
// with the target it names (and may mark as not worth auditing, e.g. a list); the entry is
// written after the answer is known, with the result code of the error body or "ok".
#pragma once

#include <functional>
#include <string>

#include "http/http_route_table.h"
#include "server/caller.h"
#include "server/server_context.h"

namespace pgshift::server {

struct RequestAudit {
  std::string target;  // "cluster/orders", "migration/orders-1"
  bool audit = true;   // false: a read that names no resource (lists, whoami)
};

using ApiHandler =
    std::function<HttpResponse(const HttpRequest&, const Caller&, RequestAudit& audit)>;

// `action` names the operation in the audit log ("migration.start").
HttpHandler Authenticated(ServerContext& ctx, std::string action, ApiHandler handler);

// The result recorded for an answer: "ok" for 2xx/3xx, else the error body's code.
std::string AuditResultOf(const HttpResponse& response);

// Parses a JSON object body; kInvalidArgument ("request body is not a JSON object").
Result<nlohmann::json> JsonObjectBody(const HttpRequest& request);

}  // namespace pgshift::server
