// EndpointFn: where the demo's application traffic should go right now. The migration
// switches it (to the proxy, or to the promoted target); load generators call it each
// time they (re)connect, from several threads, so it must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "pg/conninfo.h"

namespace pgshift::demo {

using EndpointFn = std::function<ConnInfo()>;

// How a child process (pgbench, pg_recvlogical) is pointed at a server without its
// password on the command line, where `ps` would show it: the conninfo without password
// for argv, the password in PGPASSWORD.
struct ChildConnection {
  std::string conninfo;                    // safe for argv
  std::map<std::string, std::string> env;  // PGPASSWORD when there is one
};
ChildConnection ForChildProcess(const ConnInfo& info);

}  // namespace pgshift::demo
