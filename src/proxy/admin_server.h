// AdminServer: the proxy's admin API on its own loopback port (docs/proxy.md has the contract
// the orchestrator is written against; src/proxy_admin_api has its bodies). Every request but
// /healthz needs "Authorization: Bearer <token>". Served by HttpServer, one worker per
// connection: a pause blocks for up to its deadline and must not stop a resume from being
// served, so there are workers for many such requests at once.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "http/http_route_table.h"
#include "http/http_server.h"
#include "proxy/pause_controller.h"
#include "proxy/proxy_context.h"

namespace pgshift::proxy {

class AdminServer {
 public:
  AdminServer(ProxyContext& ctx, PauseController& pauses);
  ~AdminServer() { Stop(); }
  // port 0: a free port, see port().
  Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return server_ ? server_->port() : 0; }

  // The answer to one request, without a socket (the route table the server uses).
  HttpResponse Handle(const std::string& method, const std::string& path,
                      const std::string& authorization, const std::string& body) const;

 private:
  HttpRouteTable RouteTable();
  // Each cluster verb: the cluster exists and the body is a JSON object.
  using ClusterVerb = HttpResponse (AdminServer::*)(const std::string&, const nlohmann::json&);
  HttpHandler ClusterHandler(ClusterVerb verb);
  HttpResponse RoutesAnswer() const;
  HttpResponse SessionsAnswer() const;
  HttpResponse Pause(const std::string& cluster, const nlohmann::json& body);
  HttpResponse Renew(const std::string& cluster, const nlohmann::json& body);
  HttpResponse Resume(const std::string& cluster, const nlohmann::json& body);
  HttpResponse Switch(const std::string& cluster, const nlohmann::json& body);
  HttpResponse Prepare(const std::string& cluster, const nlohmann::json& body);

  ProxyContext& ctx_;
  PauseController& pauses_;
  HttpRouteTable routes_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace pgshift::proxy
