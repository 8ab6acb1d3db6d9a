// Campaign requests (each refusal names its field), the stored document's round trip, label
// selectors, and the operator commands allowed per state.
#include "scheduler/campaign.h"

#include <gtest/gtest.h>

namespace pgshift::scheduler {
namespace {

nlohmann::json Body() {
  return {{"name", "spring"},          {"clusters", {"orders", "billing", "ledger"}},
          {"waves", {1, "rest"}},      {"soak_s", 30},
          {"halt", {{"failures", 2}}}, {"options", {{"check_window_s", 2}}}};
}

TEST(CampaignRequest, AValidRequest) {
  CampaignRequestError err;
  auto r = ParseCampaignRequest(Body(), &err);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Campaign& c = r->campaign;
  EXPECT_EQ(c.name, "spring");
  EXPECT_EQ(c.clusters.size(), 3u);
  EXPECT_EQ(c.waves, std::vector<int>({1, 0}));
  EXPECT_EQ(c.soak_s, 30);
  EXPECT_EQ(c.halt.kind, HaltPolicy::Kind::kFailures);
  EXPECT_EQ(c.migration_options["auto_cutover"], true);  // a campaign cuts over on its own
  EXPECT_EQ(c.migration_options["check_window_s"], 2);
  EXPECT_FALSE(r->selector);
}

TEST(CampaignRequest, EachRefusalNamesItsField) {
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* field;
  };
  const Case cases[] = {
      {"name", "bad name", "name"},
      {"waves", nlohmann::json::array(), "waves"},
      {"waves", {"rest", 1}, "waves"},
      {"waves", {0}, "waves"},
      {"soak_s", -1, "soak_s"},
      {"halt", {{"rate", 2}}, "halt"},
      {"halt", {{"failures", 0}}, "halt"},
      {"options", 3, "options"},
      {"clusters", {"a", "a"}, "clusters"},
      {"colour", "red", "colour"},
  };
  for (const Case& c : cases) {
    nlohmann::json body = Body();
    body[c.key] = c.value;
    CampaignRequestError err;
    auto r = ParseCampaignRequest(body, &err);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.key;
    EXPECT_EQ(err.field, c.field) << c.key << ": " << r.status().message();
  }
  nlohmann::json both = Body();
  both["selector"] = {{"tier", "gold"}};
  CampaignRequestError err;
  EXPECT_FALSE(ParseCampaignRequest(both, &err).ok());
  EXPECT_EQ(err.field, "clusters");
}

TEST(CampaignRequest, ASelectorMatchesEveryLabelItNames) {
  nlohmann::json body = Body();
  body.erase("clusters");
  body["selector"] = {{"tier", "gold"}, {"region", "eu"}};
  CampaignRequestError err;
  auto r = ParseCampaignRequest(body, &err);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->selector);
  EXPECT_TRUE(SelectorMatches(*r->selector, {{"tier", "gold"}, {"region", "eu"}, {"x", "y"}}));
  EXPECT_FALSE(SelectorMatches(*r->selector, {{"tier", "gold"}}));
  EXPECT_FALSE(SelectorMatches(*r->selector, {{"tier", "gold"}, {"region", "us"}}));
}

TEST(Campaign, TheDocumentRoundTrips) {
  CampaignRequestError err;
  Campaign c = ParseCampaignRequest(Body(), &err)->campaign;
  c.team = "payments";
  c.state = CampaignState::kHalted;
  c.halt_reason = "why";
  c.create_errors["ledger"] = "refused";
  CampaignRecord rec{c.name, c.team, c.ToDocument(), 5, 6};
  auto back = Campaign::FromRecord(rec);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToDocument(), c.ToDocument());
  EXPECT_EQ(back->created_at, 5);
  rec.document["state"] = "dancing";
  EXPECT_EQ(Campaign::FromRecord(rec).status().code(), Code::kFailedPrecondition);
}

TEST(Campaign, CommandsAllowedPerState) {
  Campaign c;
  c.name = "x";
  c.state = CampaignState::kRunning;
  EXPECT_EQ((*CommandPatch(c, CampaignCommand::kPause))["state"], "paused");
  EXPECT_FALSE(CommandPatch(c, CampaignCommand::kResume).ok());
  c.state = CampaignState::kPaused;
  EXPECT_EQ((*CommandPatch(c, CampaignCommand::kResume))["state"], "running");
  EXPECT_FALSE(CommandPatch(c, CampaignCommand::kPause).ok());
  c.state = CampaignState::kHalted;
  EXPECT_EQ((*CommandPatch(c, CampaignCommand::kResume))["state"], "running");
  EXPECT_EQ((*CommandPatch(c, CampaignCommand::kCancel))["state"], "cancelled");
  c.state = CampaignState::kCompleted;
  Status s = CommandPatch(c, CampaignCommand::kCancel).status();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "campaign x is already completed");
}

// Resuming a halted campaign clears the halt, acknowledges what failed so far (kept with what
// was acknowledged before), and records who resumed it and why, after the earlier history.
TEST(Campaign, ResumingAHaltedCampaignAcknowledgesItsFailuresAndRecordsWhoAndWhy) {
  Campaign c;
  c.name = "spring";
  c.clusters = {"billing", "orders", "index"};
  c.waves = {1, 0};
  c.state = CampaignState::kHalted;
  c.halt_reason = "halt policy (first failure or rollback): 1 of 1 finished migrations failed";
  c.acknowledged_failures = {"billing"};
  c.history = nlohmann::json::array({{{"action", "pause"}, {"by", "token:ci"}}});
  auto patch = CommandPatch(c, CampaignCommand::kResume,
                            {"token:oncall", "disk was full on orders; fixed", 100, {"orders"}});
  ASSERT_TRUE(patch.ok()) << patch.status().ToString();
  EXPECT_EQ((*patch)["state"], "running");
  EXPECT_EQ((*patch)["halt_reason"], "");
  EXPECT_EQ((*patch)["acknowledged_failures"], nlohmann::json({"billing", "orders"}));
  const nlohmann::json& history = (*patch)["history"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1]["action"], "resume_halted");
  EXPECT_EQ(history[1]["by"], "token:oncall");
  EXPECT_EQ(history[1]["at"], 100);
  const std::string why = history[1]["why"];
  EXPECT_NE(why.find("disk was full on orders"), std::string::npos) << why;
  EXPECT_NE(why.find("halted: halt policy"), std::string::npos) << why;

  // The document keeps both through the store.
  CampaignRecord rec{"spring", "payments", c.ToDocument(), 0, 0};
  rec.document.merge_patch(*patch);
  auto back = Campaign::FromRecord(rec);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->state, CampaignState::kRunning);
  EXPECT_EQ(back->acknowledged_failures, (std::vector<std::string>{"billing", "orders"}));
  EXPECT_EQ(back->history.size(), 2u);
}

}  // namespace
}  // namespace pgshift::scheduler
