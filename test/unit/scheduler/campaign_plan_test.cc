// The campaign's decisions as a pure function: waves in order, soak after each, the halt
// policies (first failure, N failures, a rate), paused/cancelled/halted campaigns starting
// nothing, completion, and the progress summary (counts, ETA from measured durations, the
// slowest migration and why).
#include "scheduler/campaign_plan.h"

#include <gtest/gtest.h>

namespace pgshift::scheduler {
namespace {

Campaign Make(std::vector<int> waves, double soak_s = 0) {
  Campaign c;
  c.name = "spring";
  c.team = "payments";
  c.clusters = {"a", "b", "c", "d", "e"};
  c.waves = std::move(waves);
  c.soak_s = soak_s;
  return c;
}

MemberStatus Member(const std::string& cluster, Phase phase, double created = 0,
                    double updated = 0) {
  MemberStatus m;
  m.cluster = cluster;
  m.migration = "spring-" + cluster;
  m.exists = true;
  m.started = true;
  m.phase = phase;
  m.created_at = created;
  m.updated_at = updated;
  return m;
}

std::vector<std::string> Started(const CampaignPlan& p) {
  std::vector<std::string> out;
  for (const auto& a : p.actions) {
    if (a.kind == CampaignAction::Kind::kStart) out.push_back(a.cluster);
  }
  return out;
}

bool Has(const CampaignPlan& p, CampaignAction::Kind k) {
  for (const auto& a : p.actions) {
    if (a.kind == k) return true;
  }
  return false;
}

TEST(CampaignPlan, WavesSplitTheMembersWithTheRestLast) {
  Campaign c = Make({1, 2, 0});
  auto w = c.Waves();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], std::vector<std::string>({"a"}));
  EXPECT_EQ(w[1], std::vector<std::string>({"b", "c"}));
  EXPECT_EQ(w[2], std::vector<std::string>({"d", "e"}));
  EXPECT_EQ(Make({1, 2}).Waves().size(), 3u);  // the members beyond the waves: one last wave
  EXPECT_EQ(Make({1, 20}).Waves().back().size(), 4u);
}

TEST(CampaignPlan, TheFirstWaveStartsAloneAndTheNextWaitsForItsSoak) {
  Campaign c = Make({1, 2, 0}, 600);
  CampaignPlan p = PlanCampaign(c, {}, 1000);
  EXPECT_EQ(Started(p), std::vector<std::string>({"a"}));
  ASSERT_TRUE(Has(p, CampaignAction::Kind::kCreate));
  EXPECT_EQ(p.actions[0].migration, "spring-a");

  // a runs: nothing new.
  p = PlanCampaign(c, {Member("a", Phase::kReplicating, 1000, 1010)}, 1100);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.wave, 0);
  // a completed at 2000: soak until 2600.
  std::vector<MemberStatus> m = {Member("a", Phase::kCompleted, 1000, 2000)};
  p = PlanCampaign(c, m, 2599);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_NE(p.waiting.find("wave 1 soaking until"), std::string::npos) << p.waiting;
  p = PlanCampaign(c, m, 2600);
  EXPECT_EQ(Started(p), std::vector<std::string>({"b", "c"}));
  EXPECT_EQ(p.wave, 1);
}

TEST(CampaignPlan, ACreatedButUnstartedMemberIsStartedNotCreatedAgain) {
  Campaign c = Make({1, 0});
  MemberStatus a = Member("a", Phase::kCreated);
  a.started = false;
  CampaignPlan p = PlanCampaign(c, {a}, 10);
  EXPECT_FALSE(Has(p, CampaignAction::Kind::kCreate));
  EXPECT_EQ(Started(p), std::vector<std::string>({"a"}));
}

TEST(CampaignPlan, FirstFailureHaltsAndStartsNothing) {
  Campaign c = Make({1, 2, 0});
  std::vector<MemberStatus> m = {Member("a", Phase::kCompleted, 0, 10),
                                 Member("b", Phase::kRolledBack, 20, 30),
                                 Member("c", Phase::kReplicating, 20, 25)};
  m[1].failure = "verification failed: checksums differ";
  CampaignPlan p = PlanCampaign(c, m, 100);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(p.actions[0].kind, CampaignAction::Kind::kHalt);
  EXPECT_NE(p.actions[0].reason.find("spring-b rolled_back: verification failed"),
            std::string::npos)
      << p.actions[0].reason;
  EXPECT_NE(p.actions[0].reason.find("first failure"), std::string::npos);
}

// After an operator resumed a halted campaign, the failure it halted on is acknowledged: the
// next wave starts; a new failure halts it again.
TEST(CampaignPlan, AnAcknowledgedFailureNoLongerHaltsButANewOneDoes) {
  Campaign c = Make({1, 1, 0});
  c.acknowledged_failures = {"a"};
  std::vector<MemberStatus> members = {Member("a", Phase::kRolledBack)};
  CampaignPlan p = PlanCampaign(c, members, 10);
  EXPECT_FALSE(Has(p, CampaignAction::Kind::kHalt));
  EXPECT_EQ(Started(p), std::vector<std::string>({"b"}));
  members.push_back(Member("b", Phase::kFailed));
  p = PlanCampaign(c, members, 20);
  EXPECT_TRUE(Has(p, CampaignAction::Kind::kHalt));
  EXPECT_TRUE(Started(p).empty());
}

TEST(CampaignPlan, ARefusedCreationCountsAsAFailure) {
  Campaign c = Make({1, 0});
  MemberStatus a;
  a.cluster = "a";
  a.migration = "spring-a";
  a.create_error = "target dir /nope cannot be created";
  CampaignPlan p = PlanCampaign(c, {a}, 10);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(p.actions[0].kind, CampaignAction::Kind::kHalt);
  EXPECT_NE(p.actions[0].reason.find("could not be created: target dir"), std::string::npos);
}

TEST(CampaignPlan, NFailuresAreToleratedUntilTheNth) {
  Campaign c = Make({2, 0});
  c.halt.kind = HaltPolicy::Kind::kFailures;
  c.halt.failures = 2;
  std::vector<MemberStatus> m = {Member("a", Phase::kFailed, 0, 10),
                                 Member("b", Phase::kCompleted, 0, 12)};
  CampaignPlan p = PlanCampaign(c, m, 20);
  EXPECT_FALSE(Has(p, CampaignAction::Kind::kHalt));
  // The wave is finished (a failure tolerated): the next starts.
  EXPECT_EQ(Started(p), std::vector<std::string>({"c", "d", "e"}));
  m.push_back(Member("c", Phase::kRolledBack, 20, 30));
  p = PlanCampaign(c, m, 40);
  ASSERT_TRUE(Has(p, CampaignAction::Kind::kHalt));
  EXPECT_TRUE(Started(p).empty());
}

TEST(CampaignPlan, ARateHaltsOnceEnoughFinished) {
  Campaign c = Make({0});
  c.halt.kind = HaltPolicy::Kind::kRate;
  c.halt.rate = 0.4;
  c.halt.min_finished = 3;
  std::vector<MemberStatus> m = {
      Member("a", Phase::kFailed, 0, 1), Member("b", Phase::kCompleted, 0, 1),
      Member("c", Phase::kReplicating, 0, 1), Member("d", Phase::kReplicating, 0, 1),
      Member("e", Phase::kReplicating, 0, 1)};
  EXPECT_FALSE(Has(PlanCampaign(c, m, 5), CampaignAction::Kind::kHalt));  // 1 of 2 finished
  m[2].phase = Phase::kCompleted;                                         // 1 of 3 = 33% < 40%
  EXPECT_FALSE(Has(PlanCampaign(c, m, 5), CampaignAction::Kind::kHalt));
  m[3].phase = Phase::kRolledBack;  // 2 of 4 = 50%
  EXPECT_TRUE(Has(PlanCampaign(c, m, 5), CampaignAction::Kind::kHalt));
}

TEST(CampaignPlan, OnlyARunningCampaignActs) {
  for (CampaignState s : {CampaignState::kPaused, CampaignState::kHalted, CampaignState::kCancelled,
                          CampaignState::kCompleted}) {
    Campaign c = Make({1, 0});
    c.state = s;
    CampaignPlan p = PlanCampaign(c, {}, 10);
    EXPECT_TRUE(p.actions.empty()) << CampaignStateName(s);
    EXPECT_EQ(p.waiting, "campaign is " + CampaignStateName(s));
  }
}

TEST(CampaignPlan, CompletesAfterTheLastWaveSoaked) {
  Campaign c = Make({2, 0}, 60);
  std::vector<MemberStatus> m;
  for (const char* x : {"a", "b", "c", "d", "e"}) m.push_back(Member(x, Phase::kCompleted, 0, 100));
  EXPECT_FALSE(Has(PlanCampaign(c, m, 159), CampaignAction::Kind::kComplete));
  EXPECT_TRUE(Has(PlanCampaign(c, m, 160), CampaignAction::Kind::kComplete));
}

TEST(CampaignPlan, ProgressCountsEtaAndTheSlowest) {
  Campaign c = Make({1, 2, 0}, 100);
  std::vector<MemberStatus> m = {Member("a", Phase::kCompleted, 0, 300),
                                 Member("b", Phase::kReplicating, 500, 510),
                                 Member("c", Phase::kReadyForCutover, 600, 650)};
  m[1].waiting = "team payments already runs 1 migration (max_running_per_team = 1)";
  nlohmann::json p = CampaignProgressJson(c, m, 700);
  EXPECT_EQ(p["clusters"], 5);
  EXPECT_EQ(p["by_phase"]["completed"], 1);
  EXPECT_EQ(p["by_phase"]["replicating"], 1);
  EXPECT_EQ(p["by_phase"]["not_created"], 2);
  EXPECT_EQ(p["by_state"]["not_created"], 2);
  EXPECT_EQ(p["wave"], 2);
  EXPECT_EQ(p["waves"], 3);
  // Mean 300 s: wave 2 has 200 s left (c was created at 600), + soak 100; wave 3: 300 + 100.
  EXPECT_EQ(p["eta_s"], 700);
  EXPECT_NE(p["eta_basis"].get<std::string>().find("mean of 1 completed migration"),
            std::string::npos);
  EXPECT_EQ(p["slowest"]["migration"], "spring-b");
  EXPECT_EQ(p["slowest"]["elapsed_s"], 200);
  EXPECT_EQ(p["slowest"]["why"], m[1].waiting);
  // Before anything completed there is no ETA, and it says why.
  nlohmann::json early = CampaignProgressJson(c, {Member("a", Phase::kReplicating, 0, 5)}, 10);
  EXPECT_TRUE(early["eta_s"].is_null());
  EXPECT_EQ(early["eta_basis"], "no migration has completed yet");
  EXPECT_NE(early["slowest"]["why"].get<std::string>().find("in phase replicating"),
            std::string::npos);
}

// A campaign that is no longer running says where it stopped, not "wave 1".
TEST(CampaignPlan, ProgressOfAFinishedOrHaltedCampaignNamesItsWave) {
  Campaign c = Make({1, 2, 0});
  std::vector<MemberStatus> all;
  for (std::string x : {"a", "b", "c", "d", "e"}) all.push_back(Member(x, Phase::kCompleted));
  c.state = CampaignState::kCompleted;
  EXPECT_EQ(CampaignProgressJson(c, all, 10)["wave"], 3);
  c.state = CampaignState::kHalted;
  std::vector<MemberStatus> halted = {Member("a", Phase::kCompleted), Member("b", Phase::kFailed),
                                      Member("c", Phase::kPausing)};
  EXPECT_EQ(CampaignProgressJson(c, halted, 10)["wave"], 2);
}

}  // namespace
}  // namespace pgshift::scheduler
