// Router construction from a migration's RouterSpec.
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

Result<std::unique_ptr<Router>> MakeRouter(const RouterSpec& spec) {
  switch (spec.kind) {
    case RouterSpec::Kind::kNone:
      return std::unique_ptr<Router>(new NoRouter());
    case RouterSpec::Kind::kFile:
      return std::unique_ptr<Router>(new RouteFileRouter(spec.path));
    case RouterSpec::Kind::kProxy: {
      std::vector<ProxyAdmin> proxies;
      for (const auto& p : spec.proxies) {
        ASSIGN_OR_RETURN(std::string token, ReadToken(p.token_file));
        proxies.push_back({p.admin, token});
      }
      if (proxies.empty()) return InvalidArgument("router 'proxy' names no proxies");
      return std::unique_ptr<Router>(new ProxyRouter(spec.cluster, std::move(proxies)));
    }
  }
  return InvalidArgument("unknown router kind");
}

}  // namespace pgshift
