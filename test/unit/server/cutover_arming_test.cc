// Arming: the arm request's validation (RFC 3339 times, the window's order and bounds, the
// field named), the stored form, and the decision the ticker applies: wait before the window
// and while a gate or the approval is red, cut over inside the window once all are green, and
// a window that ends without green gates is given up with a note naming them.
#include "server/cutover_arming.h"

#include <gtest/gtest.h>

#include "server/rfc3339_time.h"

namespace pgshift::server {
namespace {

constexpr double kNow = 1796000000;  // 2026-11-30T...Z

TEST(Rfc3339, ParsesZuluOffsetsAndFractionsAndFormatsBack) {
  auto t = ParseRfc3339("2026-11-29T10:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(*t, 1795946400);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-29T10:00:00Z");
  auto offset = ParseRfc3339("2026-11-29T12:00:00.250+02:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_DOUBLE_EQ(*offset, 1795946400.25);
  EXPECT_EQ(FormatRfc3339(*offset), "2026-11-29T10:00:00.250Z");
  EXPECT_DOUBLE_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_DOUBLE_EQ(*ParseRfc3339("2024-02-29t23:59:59z"), 1709251199);
  for (const char* bad : {"2026-11-29", "2026-11-29T10:00:00", "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-11-29T24:00:00Z", "tomorrow",
                          "2026-11-29T10:00:00Zjunk", "2026-11-29T10:00:00+0200"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(ArmRequest, AcceptsAWindowAndKeepsWhoArmedIt) {
  ArmRequestError error;
  auto arm = ParseArmRequest(
      {{"not_before", FormatRfc3339(kNow + 60)}, {"window_end", FormatRfc3339(kNow + 3600)}},
      "token:ci", kNow, &error);
  ASSERT_TRUE(arm.has_value()) << error.status.message();
  EXPECT_DOUBLE_EQ(arm->not_before, kNow + 60);
  EXPECT_DOUBLE_EQ(arm->window_end, kNow + 3600);
  EXPECT_EQ(arm->armed_by, "token:ci");
  auto round = ArmState::FromJson(arm->ToJson());
  ASSERT_TRUE(round.ok());
  EXPECT_DOUBLE_EQ(round->window_end, arm->window_end);
  EXPECT_EQ(round->armed_by, "token:ci");
  // not_before may be left out: the window opens now.
  auto now = ParseArmRequest({{"window_end", FormatRfc3339(kNow + 60)}}, "token:ci", kNow, &error);
  ASSERT_TRUE(now.has_value());
  EXPECT_DOUBLE_EQ(now->not_before, kNow);
}

TEST(ArmRequest, RefusalsNameTheField) {
  struct Case {
    nlohmann::json body;
    std::string field;
  };
  std::vector<Case> cases = {
      {{{"not_before", "soon"}, {"window_end", FormatRfc3339(kNow + 60)}}, "not_before"},
      {{{"not_before", 5}, {"window_end", FormatRfc3339(kNow + 60)}}, "not_before"},
      {{{"not_before", FormatRfc3339(kNow)}}, "window_end"},
      {{{"window_end", "2026-11-29 10:00"}}, "window_end"},
      {{{"not_before", FormatRfc3339(kNow + 600)}, {"window_end", FormatRfc3339(kNow + 60)}},
       "window_end"},  // before not_before
      {{{"not_before", FormatRfc3339(kNow - 600)}, {"window_end", FormatRfc3339(kNow - 60)}},
       "window_end"},                                                         // in the past
      {{{"window_end", FormatRfc3339(kNow + 8 * 24 * 3600)}}, "window_end"},  // > 7 days
      {{{"window_end", FormatRfc3339(kNow + 60)}, {"whenever", true}}, "whenever"},
  };
  for (const auto& c : cases) {
    ArmRequestError error;
    EXPECT_FALSE(ParseArmRequest(c.body, "token:ci", kNow, &error).has_value()) << c.body;
    EXPECT_EQ(error.status.code(), Code::kInvalidArgument) << c.body;
    EXPECT_EQ(error.field, c.field) << c.body << ": " << error.status.message();
  }
}

ArmState Window(double from, double to) { return {kNow + from, kNow + to, "token:ci", kNow}; }

TEST(DecideArmed, WaitsBeforeTheWindowOpensEvenWithGreenGates) {
  ArmDecision d = DecideArmed(Window(60, 3600), kNow, Phase::kReadyForCutover, {}, true);
  EXPECT_EQ(d.action, ArmDecision::Action::kWait);
  EXPECT_NE(d.why.find("opens at " + FormatRfc3339(kNow + 60)), std::string::npos) << d.why;
}

TEST(DecideArmed, CutsOverInsideTheWindowOnceEverythingIsGreen) {
  EXPECT_EQ(DecideArmed(Window(0, 3600), kNow, Phase::kReadyForCutover, {}, true).action,
            ArmDecision::Action::kCutOverNow);
  EXPECT_EQ(DecideArmed(Window(-60, 60), kNow, Phase::kReadyForCutover, {}, true).action,
            ArmDecision::Action::kCutOverNow);
}

TEST(DecideArmed, WaitsInsideTheWindowWhileAGateOrTheApprovalIsRed) {
  std::vector<RedGate> lag = {{"replication_lag", "the latest lag reading is 99 bytes"}};
  ArmDecision d = DecideArmed(Window(0, 3600), kNow, Phase::kReadyForCutover, lag, true);
  EXPECT_EQ(d.action, ArmDecision::Action::kWait);
  EXPECT_NE(d.why.find("replication_lag (the latest lag reading is 99 bytes)"), std::string::npos);
  d = DecideArmed(Window(0, 3600), kNow, Phase::kValidating, {{"phase", "validating"}}, true);
  EXPECT_EQ(d.action, ArmDecision::Action::kWait);
  d = DecideArmed(Window(0, 3600), kNow, Phase::kReadyForCutover, {}, false);
  EXPECT_EQ(d.action, ArmDecision::Action::kWait);
  EXPECT_NE(d.why.find("needs an approval by a second identity"), std::string::npos);
}

TEST(DecideArmed, AWindowThatEndsWithRedGatesIsGivenUpWithTheirNames) {
  std::vector<RedGate> red = {{"phase", "validating"}, {"check:extension_parity", "install"}};
  ArmDecision d = DecideArmed(Window(-3600, 0), kNow, Phase::kValidating, red, false);
  EXPECT_EQ(d.action, ArmDecision::Action::kWindowEnded);
  EXPECT_EQ(d.note, "window ended without green gates: phase, check:extension_parity, approval");
  // At the end instant the window is over, even if everything just turned green.
  d = DecideArmed(Window(-3600, 0), kNow, Phase::kReadyForCutover, {}, true);
  EXPECT_EQ(d.action, ArmDecision::Action::kWindowEnded);
}

TEST(DecideArmed, DisarmsOnceTheMigrationMovedOn) {
  for (Phase p : {Phase::kPausing, Phase::kVerifying, Phase::kCompleted, Phase::kRolledBack}) {
    ArmDecision d = DecideArmed(Window(0, 3600), kNow, p, {{"phase", "x"}}, true);
    EXPECT_EQ(d.action, ArmDecision::Action::kDisarm) << PhaseName(p);
  }
}

}  // namespace
}  // namespace pgshift::server
