// A campaign of three clusters in waves [1, 2] with a real server and real clusters: the first
// wave's migration fails (its target lies in a directory the postgres user cannot enter, so
// pg_basebackup cannot write it); the campaign halts on the first failure, says which
// migration failed and why, and nothing new starts after the halt: the second wave's clusters
// get no migration. Once the operator looked, resume continues the halted campaign (the
// failure acknowledged, who and why recorded) and the next wave starts; the CLI cancels it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/process.h"
#include "scheduler_test_env.h"

namespace pgshift::testing {
namespace {

TEST(SchedulerCampaign, HaltsOnTheFirstWavesFailureAndStartsNothingAfter) {
  SchedulerTestEnv env("");
  env.StartServer();
  ServerProcess& s = env.server();
  ASSERT_EQ(s.Post("/v1/clusters", env.payments_token, env.UnwritableTargetCluster("alpha")).status,
            201);
  ASSERT_EQ(s.Post("/v1/clusters", env.payments_token, env.LocalCluster("beta")).status, 201);
  ASSERT_EQ(s.Post("/v1/clusters", env.payments_token, env.LocalCluster("gamma")).status, 201);

  // Refusals first: another team's clusters read as missing; an empty selector match.
  auto bad = s.Post("/v1/campaigns", env.payments_token,
                    {{"name", "x"}, {"clusters", {"alpha", "nope"}}, {"waves", {1, "rest"}}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(ServerProcess::Json(bad)["error"]["field"], "clusters");
  auto none = s.Post("/v1/campaigns", env.payments_token,
                     {{"name", "x"}, {"selector", {{"wave", "autumn"}}}});
  EXPECT_EQ(none.status, 400) << none.body;

  auto created = s.Post("/v1/campaigns", env.payments_token,
                        {{"name", "spring"},
                         {"selector", {{"wave", "spring"}}},
                         {"waves", {1, 2}},
                         {"options", {{"check_window_s", 1}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = ServerProcess::Json(created);
  EXPECT_EQ(c["clusters"], nlohmann::json({"alpha", "beta", "gamma"}));
  EXPECT_EQ(c["state"], "running");

  auto halted = env.WaitFor("/v1/campaigns/spring", [](const nlohmann::json& j) {
    return j.value("state", "") != "running";
  });
  ASSERT_EQ(halted["state"], "halted") << halted.dump(2);
  const std::string reason = halted["halt_reason"];
  EXPECT_NE(reason.find("first failure"), std::string::npos) << reason;
  EXPECT_NE(reason.find("spring-alpha failed"), std::string::npos) << reason;
  EXPECT_NE(reason.find("pg_basebackup"), std::string::npos) << reason;
  auto alpha = ServerProcess::Json(s.Get("/v1/migrations/spring-alpha", env.payments_token));
  EXPECT_EQ(alpha["phase"], "failed") << alpha.dump(2);

  // Several ticks later, nothing new started.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  auto list = ServerProcess::Json(s.Get("/v1/migrations", env.payments_token))["migrations"];
  ASSERT_EQ(list.size(), 1u) << list.dump(2);
  EXPECT_EQ(list[0]["name"], "spring-alpha");
  auto after = ServerProcess::Json(s.Get("/v1/campaigns/spring", env.payments_token));
  EXPECT_EQ(after["state"], "halted");
  EXPECT_EQ(after["progress"]["by_phase"]["not_created"], 2) << after["progress"].dump(2);
  EXPECT_EQ(after["progress"]["by_phase"]["failed"], 1) << after["progress"].dump(2);

  // The CLI: status names the halt.
  auto token_file = env.store_path() + ".token";
  {
    std::ofstream t(token_file);
    t << env.payments_token << "\n";
  }
  std::filesystem::permissions(
      token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto status = RunCommand({PGSHIFT_BINARY, "--server", s.base_url(), "--token-file", token_file,
                            "campaign", "status", "spring"},
                           {});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->exit_code, 0) << status->output;
  EXPECT_NE(status->output.find("halted"), std::string::npos) << status->output;
  EXPECT_NE(status->output.find("spring-alpha failed"), std::string::npos) << status->output;

  // The operator looked at alpha's failure and resumes the halted campaign, saying why: the
  // failure is acknowledged, who and why are in its history, and the next wave starts.
  auto resume = RunCommand(
      {PGSHIFT_BINARY, "--server", s.base_url(), "--token-file", token_file, "campaign", "resume",
       "spring", "--reason", "alpha's target directory was wrong; fixed by hand", "--json"},
      {});
  ASSERT_TRUE(resume.ok());
  ASSERT_EQ(resume->exit_code, 0) << resume->output;
  auto resumed = nlohmann::json::parse(resume->output, nullptr, false);
  EXPECT_EQ(resumed["state"], "running") << resumed.dump(2);
  EXPECT_EQ(resumed["acknowledged_failures"], nlohmann::json({"alpha"})) << resumed.dump(2);
  ASSERT_FALSE(resumed["history"].empty()) << resumed.dump(2);
  const nlohmann::json entry = resumed["history"].back();
  EXPECT_EQ(entry["action"], "resume_halted") << entry.dump();
  EXPECT_NE(entry.value("by", "").find("token:"), std::string::npos) << entry.dump();
  EXPECT_NE(entry.value("why", "").find("fixed by hand"), std::string::npos) << entry.dump();
  EXPECT_NE(entry.value("why", "").find("first failure"), std::string::npos) << entry.dump();
  auto next_wave = env.WaitFor("/v1/campaigns/spring", [](const nlohmann::json& j) {
    for (const auto& m : j["members"]) {
      if (m.value("cluster", "") == "beta" && !m["migration"].is_null()) return true;
    }
    return j.value("state", "") != "running";
  });
  EXPECT_EQ(next_wave["state"], "running") << next_wave.dump(2);
  auto audit = ServerProcess::Json(s.Get("/v1/audit?limit=20", env.platform_token));
  EXPECT_NE(audit.dump().find("campaign.resume"), std::string::npos) << audit.dump(2);
  EXPECT_NE(audit.dump().find("campaign/spring"), std::string::npos);

  // The CLI's cancel ends it.
  auto cancel = RunCommand({PGSHIFT_BINARY, "--server", s.base_url(), "--token-file", token_file,
                            "campaign", "cancel", "spring"},
                           {});
  ASSERT_TRUE(cancel.ok());
  EXPECT_EQ(cancel->exit_code, 0) << cancel->output;
  EXPECT_EQ(ServerProcess::Json(s.Get("/v1/campaigns/spring", env.payments_token))["state"],
            "cancelled");
}

}  // namespace
}  // namespace pgshift::testing
