// The approval rule.
#include "server/approvals.h"

#include "server/rfc3339_time.h"

namespace pgshift::server {

nlohmann::json Approval::ToJson() const {
  return {{"approved_by", approved_by},
          {"team", team},
          {"platform", platform},
          {"approved_at", FormatRfc3339(approved_at)},
          {"expires_at", FormatRfc3339(expires_at)}};
}

Result<Approval> Approval::FromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("approved_by") || !j["approved_by"].is_string() ||
      !j.contains("approved_at") || !j["approved_at"].is_string() || !j.contains("expires_at") ||
      !j["expires_at"].is_string()) {
    return InvalidArgument("approval: malformed record");
  }
  Approval a;
  a.approved_by = j["approved_by"].get<std::string>();
  a.team = j.value("team", std::string());
  a.platform = j.value("platform", false);
  ASSIGN_OR_RETURN(a.approved_at, ParseRfc3339(j["approved_at"].get<std::string>()));
  ASSIGN_OR_RETURN(a.expires_at, ParseRfc3339(j["expires_at"].get<std::string>()));
  return a;
}

Result<Approval> MakeApproval(const ApprovalPolicy& policy, const std::string& approver,
                              const std::string& approver_team, bool approver_platform,
                              const std::string& owning_team, double now) {
  if (!approver_platform && approver_team != owning_team) {
    return PermissionDenied("only team " + owning_team +
                            " or the platform team may approve this cutover");
  }
  Approval a;
  a.approved_by = approver;
  a.team = approver_team;
  a.platform = approver_platform;
  a.approved_at = now;
  a.expires_at = now + policy.valid_for_s;
  return a;
}

Status CheckApproval(const ApprovalPolicy& policy, const std::optional<Approval>& approval,
                     const std::string& requester, double now) {
  if (!policy.required) return Status::Ok();
  const std::string base =
      "needs an approval by a second identity (of the owning team or the platform team; "
      "approval = required)";
  if (!approval) return FailedPrecondition(base + ": none is recorded");
  if (now >= approval->expires_at) {
    return FailedPrecondition(base + ": the approval by " + approval->approved_by + " expired at " +
                              FormatRfc3339(approval->expires_at));
  }
  if (approval->approved_by == requester) {
    return FailedPrecondition(base + ": the only approval is by " + requester +
                              ", who asks for the cutover");
  }
  return Status::Ok();
}

}  // namespace pgshift::server
