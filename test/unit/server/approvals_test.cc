// Approvals: who may approve (the owning team or the platform), and the four-eyes rule at the
// cutover: refused while missing, expired or given by the requester, accepted for another
// identity within its validity, and not needed when the team's policy is off.
#include "server/approvals.h"

#include <gtest/gtest.h>

namespace pgshift::server {
namespace {

constexpr double kNow = 1796000000;
const ApprovalPolicy kRequired{true, 3600};

TEST(Approvals, TheOwningTeamOrThePlatformMayApprove) {
  auto team = MakeApproval(kRequired, "token:bob", "payments", false, "payments", kNow);
  ASSERT_TRUE(team.ok());
  EXPECT_DOUBLE_EQ(team->expires_at, kNow + 3600);
  EXPECT_TRUE(MakeApproval(kRequired, "token:ops", "platform", true, "payments", kNow).ok());
  auto other = MakeApproval(kRequired, "token:eve", "search", false, "payments", kNow);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kPermissionDenied);
}

TEST(Approvals, CutoverNeedsASecondIdentityWithinTheValidity) {
  Approval bob = *MakeApproval(kRequired, "token:bob", "payments", false, "payments", kNow);
  Status missing = CheckApproval(kRequired, std::nullopt, "token:alice", kNow);
  EXPECT_EQ(missing.code(), Code::kFailedPrecondition);
  EXPECT_NE(missing.message().find("needs an approval by a second identity"), std::string::npos);
  Status self = CheckApproval(kRequired, bob, "token:bob", kNow + 10);
  EXPECT_EQ(self.code(), Code::kFailedPrecondition);
  EXPECT_NE(self.message().find("token:bob"), std::string::npos);
  EXPECT_TRUE(CheckApproval(kRequired, bob, "token:alice", kNow + 10).ok());
  Status expired = CheckApproval(kRequired, bob, "token:alice", kNow + 3600);
  EXPECT_EQ(expired.code(), Code::kFailedPrecondition);
  EXPECT_NE(expired.message().find("expired"), std::string::npos);
}

TEST(Approvals, NotNeededWhenThePolicyIsOff) {
  EXPECT_TRUE(CheckApproval(ApprovalPolicy{false, 3600}, std::nullopt, "token:alice", kNow).ok());
}

TEST(Approvals, StoredFormRoundTrips) {
  Approval a = *MakeApproval(kRequired, "token:ops", "platform", true, "payments", kNow);
  auto back = Approval::FromJson(a.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->approved_by, "token:ops");
  EXPECT_TRUE(back->platform);
  EXPECT_DOUBLE_EQ(back->expires_at, kNow + 3600);
  EXPECT_FALSE(Approval::FromJson({{"approved_by", "x"}}).ok());
}

}  // namespace
}  // namespace pgshift::server
