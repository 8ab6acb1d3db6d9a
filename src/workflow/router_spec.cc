// RouterSpec: built from options, to and from the stored JSON.
#include "workflow/router_spec.h"

namespace pgshift {

RouterSpec RouterSpec::File(std::string path) {
  RouterSpec s;
  s.kind = Kind::kFile;
  s.path = std::move(path);
  return s;
}

RouterSpec RouterSpec::Proxy(std::string cluster, std::vector<ProxyAdminSpec> proxies) {
  RouterSpec s;
  s.kind = Kind::kProxy;
  s.cluster = std::move(cluster);
  s.proxies = std::move(proxies);
  return s;
}

Result<RouterSpec> RouterSpec::FromOptions(const RouterOptions& o) {
  if (!o.proxy_admins.empty()) {
    if (o.proxy_token_file.empty() || o.proxy_cluster.empty()) {
      return InvalidArgument("--proxy-admin needs --proxy-token-file and --proxy-cluster");
    }
    std::vector<ProxyAdminSpec> proxies;
    for (const auto& a : o.proxy_admins) proxies.push_back({a, o.proxy_token_file});
    return Proxy(o.proxy_cluster, std::move(proxies));
  }
  if (!o.route_file.empty()) return File(o.route_file);
  return None();
}

nlohmann::json RouterSpec::ToJson() const {
  switch (kind) {
    case Kind::kNone:
      return {{"kind", "none"}};
    case Kind::kFile:
      return {{"kind", "file"}, {"path", path}};
    case Kind::kProxy: {
      nlohmann::json ps = nlohmann::json::array();
      for (const auto& p : proxies)
        ps.push_back({{"admin", p.admin}, {"token_file", p.token_file}});
      return {{"kind", "proxy"}, {"cluster", cluster}, {"proxies", ps}};
    }
  }
  return {{"kind", "none"}};
}

Result<RouterSpec> RouterSpec::FromJson(const nlohmann::json& j) {
  std::string kind = j.is_object() ? j.value("kind", "none") : "none";
  if (kind == "none") return None();
  if (kind == "file") return File(j.value("path", ""));
  if (kind == "proxy") {
    std::vector<ProxyAdminSpec> proxies;
    for (const auto& p : j.value("proxies", nlohmann::json::array())) {
      proxies.push_back({p.value("admin", ""), p.value("token_file", "")});
    }
    if (proxies.empty()) return InvalidArgument("router 'proxy' names no proxies");
    return Proxy(j.value("cluster", ""), std::move(proxies));
  }
  return InvalidArgument("unknown router kind '" + kind + "' (expected none, file or proxy)");
}

}  // namespace pgshift
