// Approvals: the four-eyes rule a team may ask for in the server's config (`approval =
// required`, `approval_valid_for = 1h`). A cutover of that team's migration, asked now or armed
// for later, needs an approval recorded by a second identity: a member of the owning team other
// than the one who asks, or anyone of the platform team; it is valid for the set time. The
// approval is kept under "approval" in the migration's control object. Pure: the server's
// routes and ticker call these with what they read.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"

namespace pgshift::server {

struct ApprovalPolicy {
  bool required = false;
  double valid_for_s = 3600;
};

struct Approval {
  std::string approved_by;  // identity ("token:alice")
  std::string team;         // the approver's team
  bool platform = false;    // approved as the platform team
  double approved_at = 0;   // wall seconds
  double expires_at = 0;

  // {"approved_by","team","platform","approved_at","expires_at"}: RFC 3339 times.
  nlohmann::json ToJson() const;
  static Result<Approval> FromJson(const nlohmann::json& j);
};

// Who may approve a migration of `owning_team`: a member of that team or of the platform.
// kPermissionDenied otherwise (the routes answer another team's migration 404 before this).
// Returns the approval to record, valid from `now` for the policy's time.
Result<Approval> MakeApproval(const ApprovalPolicy& policy, const std::string& approver,
                              const std::string& approver_team, bool approver_platform,
                              const std::string& owning_team, double now);

// Whether `requester` may cut over (or arm) now: Ok when the policy needs no approval, or when
// `approval` exists, has not expired, and was given by another identity. Otherwise
// kFailedPrecondition "needs an approval by a second identity ..." saying what is missing.
Status CheckApproval(const ApprovalPolicy& policy, const std::optional<Approval>& approval,
                     const std::string& requester, double now);

}  // namespace pgshift::server
