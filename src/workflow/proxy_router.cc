// Admin API calls to each proxy: POST /v1/clusters/{cluster}/{pause,renew,prepare,switch,
// resume}, with the bodies of the shared contract (src/proxy_admin_api).
#include "workflow/proxy_router.h"

#include "common/log.h"
#include "http/http_client.h"
#include "proxy_admin_api/proxy_admin_api.h"

namespace pgshift {

namespace api = proxy_admin;

Result<nlohmann::json> ProxyRouter::Call(const ProxyAdmin& p, const std::string& verb,
                                         const nlohmann::json& body,
                                         std::chrono::milliseconds timeout) {
  std::string where = "proxy " + p.address + " " + verb + " " + cluster_;
  HttpRequest request;
  request.method = "POST";
  request.path = api::ClusterPath(cluster_, verb);
  request.headers["authorization"] = "Bearer " + p.token;
  request.body = body.dump();
  ASSIGN_OR_RETURN(HttpResponse r, HttpClient(p.address).Send(request, timeout));
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
  nlohmann::json body = api::PauseRequest{deadline, lease}.ToJson();
  std::vector<const ProxyAdmin*> paused;
  held_backends_.clear();
  for (const auto& p : proxies_) {
    auto r = Call(p, api::kPause, body, deadline + std::chrono::seconds(2));
    Result<api::PauseAnswer> answer = r.ok() ? api::PauseAnswer::FromJson(*r) : r.status();
    if (answer.ok() && !answer->paused) answer = Aborted("the proxy answered 200 but not paused");
    if (!answer.ok()) {
      held_backends_.clear();
      for (const auto* q : paused) (void)Call(*q, api::kResume, nlohmann::json::object(), deadline);
      // A pause the proxy took but whose answer is malformed is released too.
      if (r.ok()) (void)Call(p, api::kResume, nlohmann::json::object(), deadline);
      return FailedPrecondition("pause not acknowledged: " + answer.status().message() +
                                "; cutover aborted, traffic resumed on the source");
    }
    paused.push_back(&p);
    held_backends_.insert(answer->held_backend_pids.begin(), answer->held_backend_pids.end());
  }
  return Status::Ok();
}

Status ProxyRouter::Renew(std::chrono::milliseconds lease) {
  for (const auto& p : proxies_) {
    auto r = Call(p, api::kRenew, api::RenewRequest{lease}.ToJson(), std::chrono::seconds(2));
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Status ProxyRouter::Switch(const Endpoint& to, uint64_t version) {
  nlohmann::json body = api::SwitchRequest{to.host, to.port, version}.ToJson();
  for (const auto& p : proxies_) {
    auto r = Call(p, api::kSwitch, body, std::chrono::seconds(30));
    // A proxy that already has this version (a resumed run) answers 409: that is progress made.
    if (!r.ok() && r.status().code() != Code::kAborted) return r.status();
  }
  return Status::Ok();
}

Status ProxyRouter::PrepareSwitch(const Endpoint& to) {
  nlohmann::json body =
      api::PrepareRequest{to.host, to.port, std::chrono::milliseconds(3000)}.ToJson();
  Status first;
  for (const auto& p : proxies_) {
    auto r = Call(p, api::kPrepare, body, std::chrono::seconds(10));
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
    auto r = Call(p, api::kResume, nlohmann::json::object(), std::chrono::seconds(5));
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
