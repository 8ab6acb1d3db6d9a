// The scheduler tests' shared scenario.
#include "scheduler_test_env.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "platform/local_instance.h"

namespace pgshift::testing {

SchedulerTestEnv::SchedulerTestEnv(const std::string& server_keys) {
  store_path_ = dir_.path() + "/server.db";
  config_path_ = dir_.path() + "/server.ini";
  password_file_ = dir_.path() + "/superuser.pw";
  {
    std::ofstream pw(password_file_);
    pw << PgCluster::kPassword << "\n";
  }
  std::filesystem::permissions(
      password_file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  {
    std::ofstream c(config_path_);
    c << "[server]\nplatform_team = platform\n" << server_keys << "\n\n[team payments]\n";
  }
  payments_token = ServerProcess::CreateToken(store_path_, "payments", false, "pay-ci");
  platform_token = ServerProcess::CreateToken(store_path_, "platform", true, "platform-admin");
  source_ = PgCluster::Primary();
}

SchedulerTestEnv::~SchedulerTestEnv() {
  if (server_) {
    EXPECT_EQ(server_->Stop(), 0) << server_->Log();
  }
  for (int i = 1; i <= target_n_; ++i) {
    std::string d = dir_.path() + "/target-" + std::to_string(i);
    if (std::filesystem::exists(d + "/PG_VERSION")) {
      auto t = LocalInstance::Attach(d, PgCluster::kPassword);
      if (t.ok()) (void)t->Stop(/*immediate=*/true);
    }
  }
}

void SchedulerTestEnv::StartServer() {
  std::string why;
  server_ = ServerProcess::Start({.store_path = store_path_, .config_path = config_path_}, &why);
  ASSERT_TRUE(server_) << why;
}

nlohmann::json SchedulerTestEnv::LocalCluster(const std::string& name) {
  ConnInfo c = source_->Conn();
  std::string conninfo = "host=" + c.Get("host") + " port=" + c.Get("port") +
                         " user=" + c.Get("user") + " dbname=" + c.Get("dbname");
  return {{"name", name},
          {"team", "payments"},
          {"labels", {{"wave", "spring"}}},
          {"source",
           {{"conninfo", conninfo},
            {"password", {{"file", password_file_}}},
            {"data_dir", source_->data_dir()}}},
          {"target",
           {{"kind", "local"}, {"dir", dir_.path() + "/target-" + std::to_string(++target_n_)}}}};
}

nlohmann::json SchedulerTestEnv::UnwritableTargetCluster(const std::string& name) {
  nlohmann::json body = LocalCluster(name);
  const std::string closed = dir_.path() + "/closed-" + name;
  std::filesystem::create_directories(closed);
  ::chmod(closed.c_str(), 0700);  // root's; the postgres user cannot enter it
  body["target"]["dir"] = closed + "/target";
  return body;
}

nlohmann::json SchedulerTestEnv::WaitFor(const std::string& path,
                                         const std::function<bool(const nlohmann::json&)>& done,
                                         std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = ServerProcess::Json(server_->Get(path, platform_token));
    if (last.is_object() && done(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << path << ": condition not met in time; last: " << last.dump();
  return last;
}

nlohmann::json SchedulerTestEnv::WaitForPhase(const std::string& name, const std::string& phases,
                                              std::chrono::seconds timeout) {
  return WaitFor(
      "/v1/migrations/" + name,
      [&](const nlohmann::json& j) {
        return j.contains("phase") && j["phase"].is_string() &&
               ("," + phases + ",").find("," + j["phase"].get<std::string>() + ",") !=
                   std::string::npos;
      },
      timeout);
}

}  // namespace pgshift::testing
