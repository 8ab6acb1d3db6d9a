#include "migration/phase.h"

#include <gtest/gtest.h>

namespace pgshift {
namespace {

TEST(Phase, TheHappyPathIsLegalStepByStep) {
  Phase path[] = {Phase::kCreated,         Phase::kReplicating, Phase::kValidating,
                  Phase::kReadyForCutover, Phase::kPausing,     Phase::kFencing,
                  Phase::kDraining,        Phase::kPromoting,   Phase::kSlotHandover,
                  Phase::kSwitching,       Phase::kVerifying,   Phase::kCompleted};
  for (size_t i = 0; i + 1 < std::size(path); ++i) {
    EXPECT_TRUE(IsLegalTransition(path[i], path[i + 1])) << PhaseName(path[i]);
  }
}

TEST(Phase, NoSkippingTheFenceOrTheDrain) {
  EXPECT_FALSE(IsLegalTransition(Phase::kPausing, Phase::kPromoting));
  EXPECT_FALSE(IsLegalTransition(Phase::kFencing, Phase::kPromoting));
  EXPECT_FALSE(IsLegalTransition(Phase::kReadyForCutover, Phase::kSwitching));
  EXPECT_FALSE(IsLegalTransition(Phase::kValidating, Phase::kPausing));
}

TEST(Phase, RollbackFromAnyLivePhaseButNotFromFinished) {
  for (int v = 1; v <= 15; ++v) {
    Phase p;
    ASSERT_TRUE(ParsePhaseValue(v, &p));
    bool live = p != Phase::kCompleted && p != Phase::kRolledBack && p != Phase::kRollingBack;
    EXPECT_EQ(IsLegalTransition(p, Phase::kRollingBack), live) << PhaseName(p);
  }
  EXPECT_FALSE(IsLegalTransition(Phase::kCompleted, Phase::kRollingBack));
}

TEST(Phase, PromotionRecordedFromPromotingOn) {
  EXPECT_FALSE(IsAfterPromotionRecorded(Phase::kDraining));
  EXPECT_TRUE(IsAfterPromotionRecorded(Phase::kPromoting));
  EXPECT_TRUE(IsAfterPromotionRecorded(Phase::kVerifying));
}

TEST(Phase, StateFollowsPhaseAndGate) {
  EXPECT_EQ(StateName(Phase::kReadyForCutover, false, false), "waiting_for_cutover");
  EXPECT_EQ(StateName(Phase::kReadyForCutover, true, false), "running");
  EXPECT_EQ(StateName(Phase::kReadyForCutover, false, true), "running");
  EXPECT_EQ(StateName(Phase::kFencing, false, false), "running");
  EXPECT_EQ(StateName(Phase::kRolledBack, false, false), "rolled_back");
  Phase p;
  EXPECT_FALSE(ParsePhaseValue(0, &p));
  EXPECT_FALSE(ParsePhaseValue(99, &p));
}

}  // namespace
}  // namespace pgshift
