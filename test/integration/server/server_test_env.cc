// The server tests' shared scenario.
#include "server_test_env.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "platform/local_instance.h"

namespace pgshift::testing {

ServerTestEnv::ServerTestEnv() {
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
    c << "[server]\nplatform_team = platform\n\n[team payments]\napproval = off\n\n"
         "[team search]\n";
  }
  payments_token = ServerProcess::CreateToken(store_path_, "payments", false, "pay-ci");
  payments_token2 = ServerProcess::CreateToken(store_path_, "payments", false, "pay-oncall");
  search_token = ServerProcess::CreateToken(store_path_, "search", false, "search-ci");
  platform_token = ServerProcess::CreateToken(store_path_, "platform", true, "platform-admin");
}

ServerTestEnv::~ServerTestEnv() {
  if (server_) {
    EXPECT_EQ(server_->Stop(), 0) << server_->Log();
  }
  // Targets the migrations built: stop them.
  for (int i = 1; i <= target_n_; ++i) {
    std::string d = dir_.path() + "/target-" + std::to_string(i);
    if (std::filesystem::exists(d + "/PG_VERSION")) {
      auto t = LocalInstance::Attach(d, PgCluster::kPassword);
      if (t.ok()) (void)t->Stop(/*immediate=*/true);
    }
  }
}

void ServerTestEnv::StartServer(const std::map<std::string, std::string>& env) {
  std::string why;
  server_ = ServerProcess::Start(
      {.store_path = store_path_, .config_path = config_path_, .env = env}, &why);
  ASSERT_TRUE(server_) << why;
}

std::string ServerTestEnv::ConninfoOf(const PgCluster& source) {
  ConnInfo c = source.Conn();
  return "host=" + c.Get("host") + " port=" + c.Get("port") + " user=" + c.Get("user") +
         " dbname=" + c.Get("dbname");
}

nlohmann::json ServerTestEnv::LocalCluster(const std::string& name, const std::string& team,
                                           const PgCluster& source) {
  std::string target = dir_.path() + "/target-" + std::to_string(++target_n_);
  return {{"name", name},
          {"team", team},
          {"labels", {{"tier", "gold"}}},
          {"source",
           {{"conninfo", ConninfoOf(source)},
            {"password", {{"file", password_file_}}},
            {"data_dir", source.data_dir()}}},
          {"target", {{"kind", "local"}, {"dir", target}}}};
}

nlohmann::json ServerTestEnv::WaitForPhase(const std::string& name, const std::string& token,
                                           const std::string& phases,
                                           std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = ServerProcess::Json(server_->Get("/v1/migrations/" + name, token));
    if (last.is_object() && last.contains("phase")) {
      std::string p = last["phase"];
      if (("," + phases + ",").find("," + p + ",") != std::string::npos) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ADD_FAILURE() << name << " did not reach " << phases << "; last: " << last.dump();
  return last;
}

}  // namespace pgshift::testing
