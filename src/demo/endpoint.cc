// ForChildProcess: keeps passwords out of child processes' argv.
#include "demo/endpoint.h"

namespace pgshift::demo {

ChildConnection ForChildProcess(const ConnInfo& info) {
  ChildConnection c;
  c.conninfo = info.Redacted();
  std::string password = info.Get("password");
  if (!password.empty()) c.env["PGPASSWORD"] = password;
  return c;
}

}  // namespace pgshift::demo
