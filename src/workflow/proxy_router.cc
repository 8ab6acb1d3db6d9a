// Admin API calls to each proxy: POST /v1/clusters/{cluster}/{pause,renew,switch,resume}.
#include "workflow/proxy_router.h"

#include "common/http_client.h"
#include "common/log.h"

namespace pgshift {

Result<nlohmann::json> ProxyRouter::Call(const ProxyAdmin& p, const std::string& verb,
                                         const nlohmann::json& body,
                                         std::chrono::milliseconds timeout) {
  std::string where = "proxy " + p.address + " " + verb + " " + cluster_;
  ASSIGN_OR_RETURN(HttpResponse r,
                   HttpRequest("POST", p.address, "/v1/clusters/" + cluster_ + "/" + verb,
                               body.dump(), {{"Authorization", "Bearer " + p.token}}, timeout));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status == 200) return j.is_discarded() ? nlohmann::json::object() : j;
  std::string detail = j.is_discarded() ? r.body.substr(0, 200) : j.dump();
  if (r.status == 401 || r.status == 403) {
    return PermissionDenied(where + ": the admin token was refused; check token_file");
  }
  if (r.status == 409) return Aborted(where + ": refused: " + detail);
  return Unavailable(where + ": HTTP " + std::to_string(r.status) + ": " + detail);
}

Status ProxyRouter::Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) {
  nlohmann::json body = {{"deadline_ms", deadline.count()}, {"lease_ms", lease.count()}};
  std::vector<const ProxyAdmin*> paused;
  held_backends_.clear();
  for (const auto& p : proxies_) {
    auto r = Call(p, "pause", body, deadline + std::chrono::seconds(2));
    if (!r.ok()) {
      held_backends_.clear();
      for (const auto* q : paused) (void)Call(*q, "resume", nlohmann::json::object(), deadline);
      return FailedPrecondition("pause not acknowledged: " + r.status().message() +
                                "; cutover aborted, traffic resumed on the source");
    }
    paused.push_back(&p);
    for (const auto& pid : r->value("held_backend_pids", nlohmann::json::array())) {
      if (pid.is_number_integer()) held_backends_.insert(pid.get<int>());
    }
  }
  return Status::Ok();
}

Status ProxyRouter::Renew(std::chrono::milliseconds lease) {
  for (const auto& p : proxies_) {
    auto r = Call(p, "renew", {{"lease_ms", lease.count()}}, std::chrono::seconds(2));
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Status ProxyRouter::Switch(const Endpoint& to, uint64_t version) {
  nlohmann::json body = {{"host", to.host}, {"port", to.port}, {"version", version}};
  for (const auto& p : proxies_) {
    auto r = Call(p, "switch", body, std::chrono::seconds(30));
    // A proxy that already has this version (a resumed run) answers 409: that is progress made.
    if (!r.ok() && r.status().code() != Code::kAborted) return r.status();
  }
  return Status::Ok();
}

Status ProxyRouter::PrepareSwitch(const Endpoint& to) {
  nlohmann::json body = {{"host", to.host}, {"port", to.port}, {"deadline_ms", 3000}};
  Status first;
  for (const auto& p : proxies_) {
    auto r = Call(p, "prepare", body, std::chrono::seconds(10));
    if (!r.ok() && first.ok()) first = r.status();
  }
  return first;
}

// A proxy that cannot be reached is not waited for: whatever it holds is released when its
// lease lapses, and a proxy that is down holds nothing. Retrying it would keep every other
// proxy's applications waiting (a rollback could not finish while one proxy is down).
Status ProxyRouter::Resume() {
  Status first;
  for (const auto& p : proxies_) {
    auto r = Call(p, "resume", nlohmann::json::object(), std::chrono::seconds(5));
    if (r.ok()) continue;
    if (r.status().code() == Code::kUnavailable) {
      spdlog::warn("{}; its pause lease lapses by itself", r.status().message());
      continue;
    }
    if (first.ok()) first = r.status();
  }
  return first;
}

std::string ProxyRouter::Describe() const {
  std::string s = "proxies of cluster " + cluster_ + ":";
  for (const auto& p : proxies_) s += " " + p.address;
  return s;
}

}  // namespace pgshift
