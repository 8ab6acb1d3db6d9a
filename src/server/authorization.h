// Authorization: what a caller may see and do. A team sees and acts on its own clusters and
// migrations; another team's resource is answered exactly like a missing one (404, the same
// message), so that names do not leak. The platform team sees and acts on everything;
// platform-only endpoints answer a team 403. Pure functions: decided without a socket.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "server/caller.h"

namespace pgshift::server {

// The not-found error of a resource kind ("cluster", "migration"): the same whether it is
// missing or another team's.
Status ResourceNotFound(const std::string& kind, const std::string& name);

// Whether `caller` may see resources of `team`.
bool CanSee(const Caller& caller, const std::string& team);
// Ok when `caller` may see a `kind` named `name` owned by `team`, else ResourceNotFound.
Status AuthorizeResource(const Caller& caller, const std::string& kind, const std::string& name,
                         const std::string& team);
// Ok for the platform team, kPermissionDenied naming `what` otherwise.
Status RequirePlatform(const Caller& caller, const std::string& what);
// Ok when `caller` may act for `team` (register its clusters): its own, or any for platform.
// kPermissionDenied otherwise (the team is named in the request, so nothing leaks).
Status AuthorizeActFor(const Caller& caller, const std::string& team);
// The team filter a list applies ("" for every team): `requested` for platform; the caller's
// own team for a team caller; nullopt (an empty list) when a team asks for another team's.
std::optional<std::string> ListScope(const Caller& caller, const std::string& requested);

}  // namespace pgshift::server
