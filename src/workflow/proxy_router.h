// ProxyRouter: drives every registered pgshift proxy of one cluster through its admin API.
// A pause counts only when all proxies acknowledge; if any does not, the ones that did are
// resumed and the pause fails, so the cutover aborts with traffic still on the source.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "http/http_message.h"
#include "workflow/router.h"

namespace pgshift {

struct ProxyAdmin {
  std::string address;      // host:port of the admin API
  std::string token;        // bearer token (a secret: never printed)
  std::string tls_ca_file;  // non-empty: the admin API is HTTPS, its certificate checked by it
};

class ProxyRouter : public Router {
 public:
  ProxyRouter(std::string cluster, std::vector<ProxyAdmin> proxies)
      : cluster_(std::move(cluster)), proxies_(std::move(proxies)) {}
  Status Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) override;
  Status Renew(std::chrono::milliseconds lease) override;
  Status Switch(const Endpoint& to, uint64_t version) override;
  Status Resume() override;
  Status PrepareSwitch(const Endpoint& to) override;
  std::set<int> HeldBackends() const override { return held_backends_; }
  std::string Describe() const override;
  std::string RouteKey() const override { return "proxy cluster " + cluster_; }
  bool HoldsSessionsAcrossSwitch() const override { return true; }
  Result<std::vector<std::string>> BackendRoles() override;
  // From each proxy's GET /v1/routes: a route to `to` that a resume confirmed. A proxy that
  // does not answer counts as having served (the safe side).
  Result<bool> MayHaveServedOn(const Endpoint& to) override;

 private:
  // One POST to a proxy: the answer's JSON on 200; kPermissionDenied on 401/403, kAborted on
  // 409, kUnavailable otherwise (unreachable, no answer in time, any other status).
  Result<nlohmann::json> Call(const ProxyAdmin& p, const std::string& verb,
                              const nlohmann::json& body, std::chrono::milliseconds timeout);
  // Sends `request` with the token; the same answers as Call. `where` prefixes errors.
  Result<nlohmann::json> Send(const ProxyAdmin& p, HttpRequest request, const std::string& where,
                              std::chrono::milliseconds timeout);
  // After a 409 to a switch: Ok when the proxy's route for the cluster is `to` (the switch was
  // made before); kFailedPrecondition naming the proxy, the cluster and the route it found.
  // One GET /v1/routes from proxy `p` (errors as Send's).
  Result<nlohmann::json> GetRoutes(const ProxyAdmin& p);
  Status CheckRoute(const ProxyAdmin& p, const Endpoint& to, uint64_t version);
  std::string cluster_;
  std::vector<ProxyAdmin> proxies_;
  std::set<int> held_backends_;  // from the proxies' answers to the last Pause
};

}  // namespace pgshift
