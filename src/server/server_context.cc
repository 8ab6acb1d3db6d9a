// Observers and the audit writer of the server context.
#include "server/server_context.h"

#include <spdlog/spdlog.h>

namespace pgshift::server {

void ServerContext::AddObserver(std::shared_ptr<MigrationObserver> observer) {
  std::lock_guard<std::mutex> l(observers_mu_);
  observers_.push_back(std::move(observer));
}

std::vector<std::shared_ptr<MigrationObserver>> ServerContext::Observers() const {
  std::lock_guard<std::mutex> l(observers_mu_);
  return observers_;
}

void ServerContext::Audit(const Caller* caller, const std::string& action,
                          const std::string& target, int http_status, const std::string& result) {
  AuditEntry e;
  e.at = clock.WallSeconds();
  e.identity = caller ? caller->identity : "anonymous";
  e.team = caller ? caller->team : "";
  e.action = action;
  e.target = target;
  e.result = result;
  e.status = http_status;
  Status st = control.AppendAudit(e);
  if (!st.ok()) {
    ++metrics.audit_write_failures;
    spdlog::error("server: audit entry for {} {} not written: {}", action, target, st.message());
  }
}

}  // namespace pgshift::server
