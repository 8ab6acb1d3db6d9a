// RouterSpec: which router a migration moves traffic with, typed. It is built here from what
// the operator gave (`migrate start --proxy-admin ... | --route-file ...`) and stored in the
// migration's spec as JSON (MigrationSpec::router: the migration library sits below the
// workflow and does not know routers); FromJson reads it back, and MakeRouter builds the
// router from it. The JSON form is the one stores already hold:
//   {"kind":"none"} | {"kind":"file","path":...}
//   | {"kind":"proxy","cluster":NAME,"proxies":[{"admin":"127.0.0.1:PORT","token_file":PATH}]}
// No secret is held: proxies' admin tokens stay in their files and are read by MakeRouter.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift {

struct ProxyAdminSpec {
  std::string admin;       // host:port of the proxy's admin API
  std::string token_file;  // file holding its admin token
};

// What the operator typed, before it is judged.
struct RouterOptions {
  std::vector<std::string> proxy_admins;  // --proxy-admin, repeated
  std::string proxy_token_file;           // --proxy-token-file
  std::string proxy_cluster;              // --proxy-cluster
  std::string route_file;                 // --route-file
};

struct RouterSpec {
  enum class Kind { kNone, kFile, kProxy };
  Kind kind = Kind::kNone;
  std::string path;                     // kFile: the route file clients read
  std::string cluster;                  // kProxy: the proxies' cluster (logical database)
  std::vector<ProxyAdminSpec> proxies;  // kProxy

  static RouterSpec None() { return {}; }
  static RouterSpec File(std::string path);
  static RouterSpec Proxy(std::string cluster, std::vector<ProxyAdminSpec> proxies);
  // Proxies when --proxy-admin is given (which needs the token file and cluster), else the
  // route file when given, else none. kInvalidArgument naming the missing option.
  static Result<RouterSpec> FromOptions(const RouterOptions& options);

  nlohmann::json ToJson() const;
  // kInvalidArgument for an unknown kind or a proxy router without proxies.
  static Result<RouterSpec> FromJson(const nlohmann::json& j);
};

}  // namespace pgshift
