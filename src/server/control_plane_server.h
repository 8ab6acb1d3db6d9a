// ControlPlaneServer: `pgshift server` assembled: the context over the given stores, the
// migration driver, the API's routes (BuildApiRoutes) on one HttpServer (HTTPS when the
// config has a certificate; client certificates when it has a client CA; 64 connections so
// that open event streams never starve the API). Start() binds, then resumes every migration
// the server had started; Stop() stops serving (streams end), then lets each driver finish its
// turn and release its lease.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "http/http_server.h"
#include "server/migration_driver.h"
#include "server/server_context.h"

namespace pgshift::server {

class ControlPlaneServer {
 public:
  ControlPlaneServer(ServerConfig config, MigrationStore& migrations, ControlStore& control,
                     Clock& clock);
  ~ControlPlaneServer();

  // Connections served at once (each open event stream holds one).
  static constexpr int kMaxConnections = 64;

  // Adds observers or hooks before Start(): ctx() is ready from construction.
  ServerContext& ctx() { return ctx_; }
  Status Start();
  // "http://127.0.0.1:8080" (https with TLS), the port bound.
  std::string url() const;
  int port() const { return http_ ? http_->port() : 0; }
  void Stop();

 private:
  ServerContext ctx_;
  MigrationDriver driver_;
  std::unique_ptr<HttpServer> http_;
  bool stopped_ = false;
};

}  // namespace pgshift::server
