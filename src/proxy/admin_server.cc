// Admin API: its route table, authorization and the answer of each endpoint.
#include "proxy/admin_server.h"

#include <openssl/crypto.h>

#include "proxy_admin_api/proxy_admin_api.h"

namespace pgshift::proxy {
namespace {

using nlohmann::json;
namespace api = proxy_admin;

// Requests are small JSON bodies from the orchestrator; a pause waits up to its deadline, so
// workers are many (one per connection) and the timeouts bound only the socket I/O.
HttpServerOptions AdminServerOptions(const ProxyConfig& config) {
  HttpServerOptions o;
  // HTTPS when configured (required beyond loopback, see ProxyConfig validation).
  o.tls_cert_file = config.admin_tls_cert;
  o.tls_key_file = config.admin_tls_key;
  o.name = "proxy admin";
  o.max_connections = 32;
  o.max_body_bytes = 1 << 20;
  o.max_header_bytes = 32 << 10;
  o.read_timeout = std::chrono::seconds(10);
  o.write_timeout = std::chrono::seconds(10);
  return o;
}

bool TokenMatches(const std::string& header, const std::string& token) {
  const std::string prefix = "Bearer ";
  if (header.compare(0, prefix.size(), prefix) != 0) return false;
  std::string given = header.substr(prefix.size());
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

HttpResponse Refused(int status, const std::string& message) {
  return HttpResponse::Json(status, api::ErrorAnswer{message, std::nullopt}.ToJson());
}

json SessionJson(const SessionInfo& s) {
  return {{"id", s.id},
          {"cluster", s.cluster},
          {"user", s.user},
          {"identity", s.identity},
          {"client", s.client},
          {"started_unix", s.started_unix},
          {"transaction_status", std::string(1, s.tx_status.load())},
          {"busy", s.busy.load()},
          {"held", s.held.load()},
          {"pinned", s.pinned.load()},
          {"route_version", s.route_version.load()},
          {"replication", s.replication},
          {"bytes_from_client", s.bytes_in.load()},
          {"bytes_from_server", s.bytes_out.load()}};
}

}  // namespace

AdminServer::AdminServer(ProxyContext& ctx, PauseController& pauses)
    : ctx_(ctx), pauses_(pauses), routes_(RouteTable()) {}

HttpRouteTable AdminServer::RouteTable() {
  HttpRouteTable t;
  // The token is checked before routing, so that without it no path, not even an unknown
  // one, answers anything but 401.
  t.SetGuard([this](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.path == api::kHealthPath) return std::nullopt;
    if (!TokenMatches(r.Header("authorization"), ctx_.config.admin_token)) {
      return Refused(401, "missing or wrong bearer token");
    }
    return std::nullopt;
  });
  t.Add("GET", api::kHealthPath,
        [](const HttpRequest&) { return HttpResponse::Text(200, "ok\n"); });
  t.Add("GET", api::kMetricsPath, [this](const HttpRequest&) {
    return HttpResponse::Text(200, ctx_.metrics.PrometheusText(), "text/plain; version=0.0.4");
  });
  t.Add("GET", api::kRoutesPath, [this](const HttpRequest&) { return RoutesAnswer(); });
  t.Add("GET", api::kSessionsPath, [this](const HttpRequest&) { return SessionsAnswer(); });
  t.Add("POST", api::ClusterRoute(api::kPause), ClusterHandler(&AdminServer::Pause));
  t.Add("POST", api::ClusterRoute(api::kRenew), ClusterHandler(&AdminServer::Renew));
  t.Add("POST", api::ClusterRoute(api::kPrepare), ClusterHandler(&AdminServer::Prepare));
  t.Add("POST", api::ClusterRoute(api::kSwitch), ClusterHandler(&AdminServer::Switch));
  t.Add("POST", api::ClusterRoute(api::kResume), ClusterHandler(&AdminServer::Resume));
  return t;
}

HttpHandler AdminServer::ClusterHandler(ClusterVerb verb) {
  return [this, verb](const HttpRequest& r) {
    std::string cluster = r.PathParam("cluster");
    if (!ctx_.Cluster(cluster)) return Refused(404, "unknown cluster '" + cluster + "'");
    auto body = api::ParseBody(r.body);
    if (!body.ok()) return Refused(400, body.status().message());
    return (this->*verb)(cluster, *body);
  };
}

HttpResponse AdminServer::Handle(const std::string& method, const std::string& path,
                                 const std::string& authorization, const std::string& body) const {
  HttpRequest r;
  r.method = method;
  r.path = path;
  if (!authorization.empty()) r.headers["authorization"] = authorization;
  r.body = body;
  return routes_.Dispatch(std::move(r));
}

HttpResponse AdminServer::RoutesAnswer() const {
  auto t = ctx_.routes.Get();
  api::RoutesAnswer a;
  a.version = t->version;
  for (const auto& [name, e] : t->routes) {
    ClusterControl* c = ctx_.Cluster(name);
    a.routes[name] = {.host = e.host,
                      .port = e.port,
                      .version = e.version,
                      .tls = e.tls == BackendTls::kRequire,
                      .paused = c && c->paused.load(),
                      .confirmed = e.confirmed};
    auto config = ctx_.config.clusters.find(name);
    if (config != ctx_.config.clusters.end()) a.routes[name].user = config->second.user;
  }
  return HttpResponse::Json(200, a.ToJson());
}

HttpResponse AdminServer::SessionsAnswer() const {
  json list = json::array();
  for (const auto& s : ctx_.sessions.Snapshot()) list.push_back(SessionJson(*s));
  return HttpResponse::Json(200, {{"sessions", list}});
}

HttpResponse AdminServer::Pause(const std::string& cluster, const json& body) {
  auto req = api::PauseRequest::FromJson(body);
  if (!req.ok()) return Refused(400, req.status().message());
  auto r = pauses_.Pause(cluster, req->deadline, req->lease, req->not_after_unix_ms);
  if (!r.ok()) return Refused(404, r.status().message());
  api::PauseAnswer a{r->paused,      r->sessions, r->held_backend_pids,
                     r->not_drained, r->reason,   r->expired};
  return HttpResponse::Json(a.paused ? 200 : 409, a.ToJson());
}

HttpResponse AdminServer::Renew(const std::string& cluster, const json& body) {
  auto req = api::RenewRequest::FromJson(body);
  if (!req.ok()) return Refused(400, req.status().message());
  Status st = pauses_.Renew(cluster, req->lease);
  if (!st.ok()) return HttpResponse::Json(409, api::RenewAnswer{false, st.message()}.ToJson());
  return HttpResponse::Json(200, api::RenewAnswer{true, ""}.ToJson());
}

HttpResponse AdminServer::Resume(const std::string& cluster, const json&) {
  Status st = pauses_.Resume(cluster);
  if (!st.ok()) return Refused(404, st.message());
  return HttpResponse::Json(200, api::ResumeAnswer{false}.ToJson());
}

HttpResponse AdminServer::Switch(const std::string& cluster, const json& body) {
  auto req = api::SwitchRequest::FromJson(body);
  if (!req.ok()) return Refused(400, req.status().message());
  auto r = pauses_.Switch(cluster, req->host, req->port, req->version);
  if (!r.ok()) {
    // 409: a version not above the current one; 503: the switch could not be persisted (the
    // route did not change; the caller may retry); 400 otherwise.
    Code c = r.status().code();
    int code = c == Code::kAborted ? 409 : c == Code::kUnavailable ? 503 : 400;
    api::ErrorAnswer e{r.status().message(), ctx_.routes.Get()->routes.at(cluster).version};
    return HttpResponse::Json(code, e.ToJson());
  }
  api::SwitchAnswer a{r->version, r->moved, r->pending, r->staying};
  return HttpResponse::Json(200, a.ToJson());
}

HttpResponse AdminServer::Prepare(const std::string& cluster, const json& body) {
  auto req = api::PrepareRequest::FromJson(body);
  if (!req.ok()) return Refused(400, req.status().message());
  auto r = pauses_.Prepare(cluster, req->host, req->port, req->deadline);
  if (!r.ok()) return Refused(404, r.status().message());
  return HttpResponse::Json(200, api::PrepareAnswer{r->sessions, r->open, r->failed}.ToJson());
}

Status AdminServer::Start(const std::string& host, int port) {
  server_ = std::make_unique<HttpServer>(routes_, AdminServerOptions(ctx_.config));
  return server_->Start(host, port);
}

void AdminServer::Stop() {
  if (server_) server_->Stop();
}

}  // namespace pgshift::proxy
