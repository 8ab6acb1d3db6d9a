// Route persistence: the proxy's route table on disk, beside its config file, so that a
// restarted proxy neither forgets where a switch sent a cluster nor accepts a version older
// than one it already took. Written atomically (temp file, fsync, rename, fsync of the folder):
// a crash leaves the old table or the new one, never a mix. Read once at startup.
//
// Format (JSON): {"format":1,"routes":{"<cluster>":{"host":"...","port":N,"version":V,
// "confirmed":B}}}. Only switched routes matter (version > 0); TLS toward the backend stays the
// config's. `confirmed`: an explicit resume confirmed the route after its switch (route_table.h);
// a route without the field (a file of an older pgshift) loads unconfirmed, the safe side.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace pgshift::proxy {

struct PersistedRoute {
  std::string host;
  int port = 0;
  uint64_t version = 0;
  bool confirmed = false;
};

using PersistedRoutes = std::map<std::string, PersistedRoute>;

// The routes in `path`; an absent file is an empty map (a proxy never switched). A file that
// cannot be read or parsed is kFailedPrecondition naming it and what to do: the proxy must not
// start on routes it cannot vouch for.
Result<PersistedRoutes> ReadPersistedRoutes(const std::string& path);

// Replaces `path` atomically with `routes`. kUnavailable naming the file and the system error.
Status WritePersistedRoutes(const std::string& path, const PersistedRoutes& routes);

}  // namespace pgshift::proxy
