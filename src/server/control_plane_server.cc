// Assembling, starting and stopping the control plane.
#include "server/control_plane_server.h"

#include <spdlog/spdlog.h>

#include "server/api_error.h"
#include "server/api_routes.h"

namespace pgshift::server {

ControlPlaneServer::ControlPlaneServer(ServerConfig config, MigrationStore& migrations,
                                       ControlStore& control, Clock& clock)
    : ctx_(std::move(config), migrations, control, clock), driver_(ctx_), policy_(ctx_) {
  ctx_.driver = &driver_;
}

ControlPlaneServer::~ControlPlaneServer() { Stop(); }

Status ControlPlaneServer::Start() {
  HttpServerOptions options;
  options.name = "server";
  options.max_connections = kMaxConnections;
  options.tls_cert_file = ctx_.config.tls_cert_file;
  options.tls_key_file = ctx_.config.tls_key_file;
  options.tls_client_ca_file = ctx_.config.client_ca_file;
  options.error_responder = HttpErrorBody;
  // An event stream writes at least a heartbeat every 15 s; a stalled reader ends it.
  options.write_timeout = std::chrono::milliseconds(20000);
  http_ = std::make_unique<HttpServer>(BuildApiRoutes(ctx_), options);
  RETURN_IF_ERROR(http_->Start(ctx_.config.listen_host, ctx_.config.listen_port));
  int resumed = driver_.ResumeStarted();
  if (resumed > 0) spdlog::warn("server: resumed {} migration(s)", resumed);
  policy_.Start();
  driver_.ClaimStartedEvery(std::chrono::seconds(1));
  return Status::Ok();
}

std::string ControlPlaneServer::url() const {
  std::string host = ctx_.config.listen_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(ctx_.config.tls() ? "https" : "http") + "://" + host + ":" +
         std::to_string(port());
}

void ControlPlaneServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ctx_.stopping = true;
  ctx_.live.Changed();  // wakes the streams, which then end
  if (http_) http_->Stop();
  policy_.Stop();  // no armed cutover is requested from here on
  driver_.Stop();
  policy_.Finish();  // the drivers' last transitions go out to the webhooks
}

}  // namespace pgshift::server
