// Admin API calls to each proxy: POST /v1/clusters/{cluster}/{pause,renew,prepare,switch,
// resume}, with the bodies of the shared contract (src/proxy_admin_api).
#include "workflow/proxy_router.h"

#include <algorithm>

#include "common/log.h"
#include "http/http_client.h"
#include "proxy_admin_api/proxy_admin_api.h"

namespace pgshift {

namespace api = proxy_admin;

namespace {
// A body that is not JSON goes into an error message, which the store may record in JSON: only
// printable ASCII of it, so that a stray or hostile byte cannot make that write throw.
std::string PrintableExcerpt(const std::string& body) {
  std::string out = body.substr(0, 200);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}
}  // namespace

Result<nlohmann::json> ProxyRouter::Call(const ProxyAdmin& p, const std::string& verb,
                                         const nlohmann::json& body,
                                         std::chrono::milliseconds timeout) {
  HttpRequest request;
  request.method = "POST";
  request.path = api::ClusterPath(cluster_, verb);
  request.body = body.dump();
  return Send(p, std::move(request), "proxy " + p.address + " " + verb + " " + cluster_, timeout);
}

Result<nlohmann::json> ProxyRouter::Send(const ProxyAdmin& p, HttpRequest request,
                                         const std::string& where,
                                         std::chrono::milliseconds timeout) {
  request.headers["authorization"] = "Bearer " + p.token;
  HttpClientOptions options;
  options.tls_ca_file = p.tls_ca_file;
  ASSIGN_OR_RETURN(HttpResponse r, HttpClient(p.address, options).Send(request, timeout));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status == 200) return j.is_discarded() ? nlohmann::json::object() : j;
  std::string detail = j.is_discarded() ? PrintableExcerpt(r.body) : j.dump();
  if (r.status == 401 || r.status == 403) {
    return PermissionDenied(where + ": the admin token was refused; check token_file");
  }
  if (r.status == 409) return Aborted(where + ": refused: " + detail);
  return Unavailable(where + ": HTTP " + std::to_string(r.status) + ": " + detail);
}

Status ProxyRouter::Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) {
  std::vector<const ProxyAdmin*> paused;
  held_backends_.clear();
  for (const auto& p : proxies_) {
    // Valid for as long as this call waits for the drain (each proxy's call its own): a proxy
    // that reads it later (it was frozen) refuses it instead of holding its sessions after the
    // cutover gave up on it.
    const int64_t now_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    nlohmann::json body =
        api::PauseRequest{deadline, lease, now_unix_ms + int64_t(deadline.count())}.ToJson();
    auto r = Call(p, api::kPause, body, deadline + std::chrono::seconds(2));
    Result<api::PauseAnswer> answer = r.ok() ? api::PauseAnswer::FromJson(*r) : r.status();
    if (answer.ok() && !answer->paused) answer = Aborted("the proxy answered 200 but not paused");
    if (!answer.ok()) {
      held_backends_.clear();
      for (const auto* q : paused) (void)Call(*q, api::kResume, nlohmann::json::object(), deadline);
      // A pause the proxy took but whose answer is malformed is released too.
      if (r.ok()) (void)Call(p, api::kResume, nlohmann::json::object(), deadline);
      // A proxy that did not answer (refused, reset, timed out) may be restarting: kUnavailable,
      // retried by the engine; one that answered no is kFailedPrecondition.
      return Status(answer.status().code() == Code::kUnavailable ? Code::kUnavailable
                                                                 : Code::kFailedPrecondition,
                    "pause not acknowledged: " + answer.status().message() +
                        "; the pauses taken were released");
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
    if (r.ok()) continue;
    if (r.status().code() != Code::kAborted) return r.status();
    // 409: the proxy holds this version or a higher one. That is progress only when its route
    // is the one wanted (a resumed run repeating its switch); a route pinned elsewhere by a
    // higher version (a stray or hostile switch) must fail the step, not pass for done.
    RETURN_IF_ERROR(CheckRoute(p, to, version));
  }
  return Status::Ok();
}

Result<nlohmann::json> ProxyRouter::GetRoutes(const ProxyAdmin& p) {
  HttpRequest request;
  request.method = "GET";
  request.path = api::kRoutesPath;
  return Send(p, std::move(request), "proxy " + p.address + " routes", std::chrono::seconds(10));
}

Status ProxyRouter::CheckRoute(const ProxyAdmin& p, const Endpoint& to, uint64_t version) {
  ASSIGN_OR_RETURN(nlohmann::json j, GetRoutes(p));
  ASSIGN_OR_RETURN(api::RoutesAnswer routes, api::RoutesAnswer::FromJson(j));
  auto it = routes.routes.find(cluster_);
  std::string found = it == routes.routes.end()
                          ? std::string("no route for it")
                          : it->second.host + ":" + std::to_string(it->second.port) +
                                " at version " + std::to_string(it->second.version);
  if (it != routes.routes.end() && it->second.host == to.host && it->second.port == to.port) {
    return Status::Ok();
  }
  return FailedPrecondition(
      "proxy " + p.address + " refused the switch of cluster " + cluster_ + " to " + to.host + ":" +
      std::to_string(to.port) + " at version " + std::to_string(version) + ", and its route is " +
      found +
      ": something else switched it with a higher version; check who did (the proxy's log), "
      "then restart that proxy without its route file (the route goes back to its config) and "
      "resume the migration");
}

Result<bool> ProxyRouter::MayHaveServedOn(const Endpoint& to) {
  for (const auto& p : proxies_) {
    const std::string where = "proxy " + p.address + " routes";
    auto j = GetRoutes(p);
    if (!j.ok()) {
      spdlog::info("{}: cannot tell whether it resumed sessions on {}:{}: {}", where, to.host,
                   to.port, j.status().message());
      return true;
    }
    ASSIGN_OR_RETURN(api::RoutesAnswer routes, api::RoutesAnswer::FromJson(*j));
    auto it = routes.routes.find(cluster_);
    if (it == routes.routes.end()) continue;
    const api::RouteInfo& r = it->second;
    if (r.host == to.host && r.port == to.port && r.confirmed) return true;
  }
  return false;
}

// From each proxy's GET /v1/routes (the route's login role; no secret).
Result<std::vector<std::string>> ProxyRouter::BackendRoles() {
  std::vector<std::string> roles;
  for (const auto& p : proxies_) {
    const std::string where = "proxy " + p.address + " routes";
    auto j = GetRoutes(p);
    if (!j.ok() && j.status().code() == Code::kUnavailable) {
      // A proxy that is down cannot log in anywhere; the pause will not pass without it.
      spdlog::info("{}: its backend role is unknown: {}", where, j.status().message());
      continue;
    }
    if (!j.ok()) return j.status();
    ASSIGN_OR_RETURN(api::RoutesAnswer routes, api::RoutesAnswer::FromJson(*j));
    auto it = routes.routes.find(cluster_);
    if (it == routes.routes.end() || it->second.user.empty()) continue;
    if (std::find(roles.begin(), roles.end(), it->second.user) == roles.end()) {
      roles.push_back(it->second.user);
    }
  }
  return roles;
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
