// Team scope decisions.
#include "server/authorization.h"

namespace pgshift::server {

Status ResourceNotFound(const std::string& kind, const std::string& name) {
  return NotFound("no " + kind + " named '" + name + "'");
}

bool CanSee(const Caller& caller, const std::string& team) {
  return caller.platform || caller.team == team;
}

Status AuthorizeResource(const Caller& caller, const std::string& kind, const std::string& name,
                         const std::string& team) {
  if (!CanSee(caller, team)) return ResourceNotFound(kind, name);
  return Status::Ok();
}

Status RequirePlatform(const Caller& caller, const std::string& what) {
  if (caller.platform) return Status::Ok();
  return PermissionDenied(what + " is for the platform team only");
}

Status AuthorizeActFor(const Caller& caller, const std::string& team) {
  if (caller.platform || caller.team == team) return Status::Ok();
  return PermissionDenied("team " + caller.team + " may not act for team " + team);
}

std::optional<std::string> ListScope(const Caller& caller, const std::string& requested) {
  if (caller.platform) return requested;
  if (!requested.empty() && requested != caller.team) return std::nullopt;
  return caller.team;
}

}  // namespace pgshift::server
