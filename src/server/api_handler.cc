// Identification, audit and counting around every API handler.
#include "server/api_handler.h"

#include "server/api_error.h"

namespace pgshift::server {

std::string AuditResultOf(const HttpResponse& response) {
  if (response.status < 400) return "ok";
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    return body["error"].value("code", "error");
  }
  return "error";
}

HttpHandler Authenticated(ServerContext& ctx, std::string action, ApiHandler handler) {
  return [&ctx, action = std::move(action), handler = std::move(handler)](const HttpRequest& req) {
    auto caller = IdentifyCaller(req, ctx.control, ctx.config);
    if (!caller.ok()) {
      HttpResponse r = ErrorResponse(caller.status());
      if (caller.status().code() == Code::kUnauthenticated) ++ctx.metrics.unauthenticated;
      ctx.metrics.CountResponse(r.status);
      std::string target;
      for (const auto& [k, v] : req.path_params) target += (target.empty() ? "" : ",") + v;
      ctx.Audit(nullptr, action, target, r.status, AuditResultOf(r));
      return r;
    }
    RequestAudit audit;
    HttpResponse r = handler(req, *caller, audit);
    ctx.metrics.CountResponse(r.status);
    if (audit.audit || r.status >= 400) {
      ctx.Audit(&*caller, action, audit.target, r.status, AuditResultOf(r));
    }
    return r;
  };
}

Result<nlohmann::json> JsonObjectBody(const HttpRequest& request) {
  if (request.body.empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(request.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("the request body is not a JSON object");
  }
  return j;
}

}  // namespace pgshift::server
