// Router construction from a migration spec.
#include <fstream>
#include <sstream>

#include "workflow/proxy_router.h"
#include "workflow/route_file.h"

namespace pgshift {
namespace {

class NoRouter : public Router {
 public:
  Status Pause(std::chrono::milliseconds, std::chrono::milliseconds) override {
    return Status::Ok();
  }
  Status Renew(std::chrono::milliseconds) override { return Status::Ok(); }
  Status Switch(const Endpoint&, uint64_t) override { return Status::Ok(); }
  Status Resume() override { return Status::Ok(); }
  std::string Describe() const override { return "no router (clients are repointed by hand)"; }
};

Result<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read proxy admin token file " + path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return InvalidArgument("proxy admin token file " + path + " is empty");
  return token;
}

}  // namespace

Result<std::unique_ptr<Router>> MakeRouter(const nlohmann::json& spec) {
  std::string kind = spec.is_object() ? spec.value("kind", "none") : "none";
  if (kind == "none") return std::unique_ptr<Router>(new NoRouter());
  if (kind == "file") {
    return std::unique_ptr<Router>(new RouteFileRouter(spec.value("path", "")));
  }
  if (kind == "proxy") {
    std::vector<ProxyAdmin> proxies;
    for (const auto& p : spec.value("proxies", nlohmann::json::array())) {
      ASSIGN_OR_RETURN(std::string token, ReadToken(p.value("token_file", "")));
      proxies.push_back({p.value("admin", ""), token});
    }
    if (proxies.empty()) return InvalidArgument("router 'proxy' names no proxies");
    return std::unique_ptr<Router>(new ProxyRouter(spec.value("cluster", ""), std::move(proxies)));
  }
  return InvalidArgument("unknown router kind '" + kind + "' (expected none, file or proxy)");
}

}  // namespace pgshift
