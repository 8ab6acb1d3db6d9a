// Check "clients_outside_proxy": who uses the source without going through the data access
// layer. The cutover holds only the sessions a proxy carries; any other client is cut off by
// the fence, reconnects wherever it was configured to, and (if it writes to the target's
// address directly) meets the target fence. An operator should learn of them before the pause.
#include <algorithm>

#include "checks/check_functions.h"
#include "checks/cluster_facts.h"

namespace pgshift {

CheckResult CheckClientsOutsideProxy(const ClusterFacts& source,
                                     const std::vector<std::string>& proxy_roles, bool block) {
  CheckResult r{.name = "clients_outside_proxy", .query = facts_sql::kClientBackends};
  nlohmann::json outside = nlohmann::json::array();
  int through_proxy = 0;
  for (const ClientBackendFact& b : source.client_backends) {
    if (std::find(proxy_roles.begin(), proxy_roles.end(), b.user) != proxy_roles.end()) {
      ++through_proxy;
      continue;
    }
    // pgshift's own sessions: its role, and the application_name it sets on every connection.
    if (b.user == source.user && b.application_name.rfind("pgshift", 0) == 0) continue;
    outside.push_back({{"pid", b.pid},
                       {"client_addr", b.client_addr},
                       {"user", b.user},
                       {"application_name", b.application_name},
                       {"database", b.database},
                       {"backend_start", b.backend_start}});
  }
  r.evidence = {{"endpoint", source.label},
                {"proxy_roles", proxy_roles},
                {"through_proxy", through_proxy},
                {"outside_proxy", outside.size()},
                {"clients", outside}};
  if (outside.empty()) return r;
  r.verdict = block ? Verdict::kFail : Verdict::kWarn;
  r.advice = std::to_string(outside.size()) +
             " client session(s) reach the source without a registered proxy (listed with "
             "their address, role and application). The cutover does not hold them: the fence "
             "ends them, and until the target's logical slots exist the target refuses their "
             "writes. Point them at the proxy, or stop them for the cutover" +
             std::string(block ? "; this migration's direct_clients = block makes this a gate"
                               : "; direct_clients = block makes this a gate") +
             ". A client logging in directly as a proxy's backend role is counted as the "
             "proxy's.";
  return r;
}

}  // namespace pgshift
