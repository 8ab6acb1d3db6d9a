// Assembly and orderly shutdown of the proxy's parts.
#include "proxy/proxy_server.h"

#include "proxy/admin_server.h"
#include "proxy/pause_controller.h"
#include "proxy/proxy_context.h"
#include "proxy/worker.h"

namespace pgshift::proxy {

namespace {
constexpr int kBackendLoginThreads = 32;
}  // namespace

Result<std::unique_ptr<ProxyServer>> ProxyServer::Start(const ProxyConfig& config) {
  std::unique_ptr<ProxyServer> s(new ProxyServer());
  s->ctx_ = std::make_unique<ProxyContext>(config);
  ProxyContext& ctx = *s->ctx_;
  // Before any session or admin request reads a route: the switches made before a restart.
  if (!config.route_file.empty()) {
    RETURN_IF_ERROR(ctx.routes.Restore(config.route_file));
    for (const auto& [name, e] : ctx.routes.Get()->routes) {
      if (ClusterControl* c = ctx.Cluster(name)) c->route_version.store(e.version);
    }
  }
  if (config.client_tls) {
    ASSIGN_OR_RETURN(ctx.client_tls,
                     MakeServerTlsContext(config.tls_cert, config.tls_key, config.client_ca));
  }
  ASSIGN_OR_RETURN(ctx.backend_tls, MakeBackendTlsContext());
  // Logins wait on the server far more than they compute: at a switch every held session logs
  // in to the new primary at once, and with 4 threads 10 sessions took three waves (~100 ms).
  ctx.pool = std::make_unique<TaskPool>(kBackendLoginThreads);
  ctx.switch_lanes = std::make_unique<SwitchLanes>(*ctx.pool, kBackendLoginThreads);
  s->pauses_ = std::make_unique<PauseController>(ctx);
  s->admin_ = std::make_unique<AdminServer>(ctx, *s->pauses_);
  s->limits_ = std::make_unique<ConnectionLimits>(config.max_client_connections,
                                                  config.max_pending_handshakes_per_address);
  for (int i = 0; i < config.threads; ++i) {
    s->workers_.push_back(std::make_unique<Worker>(ctx, i, *s->limits_));
    ctx.workers.push_back(s->workers_.back().get());
  }
  for (auto& w : s->workers_) RETURN_IF_ERROR(w->Start(config.listen_host, config.listen_port));
  RETURN_IF_ERROR(s->admin_->Start(config.admin_host, config.admin_port));
  return s;
}

ProxyServer::~ProxyServer() { Stop(); }

void ProxyServer::Stop() {
  if (!ctx_) return;
  if (admin_) admin_->Stop();          // no new admin work
  for (auto& w : workers_) w->Stop();  // loops end; sessions still exist
  ctx_->pool.reset();                  // login threads end (they may still post to workers)
  pauses_.reset();
  admin_.reset();
  workers_.clear();  // sessions close here (releasing their connection slots)
  limits_.reset();
  ctx_.reset();
}

int ProxyServer::port() const { return ctx_ ? ctx_->config.listen_port : 0; }
int ProxyServer::admin_port() const { return admin_ ? admin_->port() : 0; }

}  // namespace pgshift::proxy
