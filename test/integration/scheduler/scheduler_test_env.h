// SchedulerTestEnv: what the scheduler's integration tests share: a store with a payments
// token and a platform token, a server configuration with the scheduler's keys the test gives,
// one small source cluster whose superuser password sits in a file, a started `pgshift server`,
// registration bodies with local targets (or a target the postgres user cannot write), and
// polling helpers. Targets the migrations built are stopped at the end.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "fixture/pg_cluster.h"
#include "fixture/server_process.h"
#include "fixture/temp_dir.h"

namespace pgshift::testing {

class SchedulerTestEnv {
 public:
  // `server_keys`: lines under [server] (e.g. "max_running_per_team = 1").
  explicit SchedulerTestEnv(const std::string& server_keys);
  ~SchedulerTestEnv();

  void StartServer();
  ServerProcess& server() { return *server_; }
  const std::string& store_path() const { return store_path_; }
  std::string payments_token, platform_token;

  PgCluster& source() { return *source_; }
  // A cluster on the env's source for team payments with a fresh local target directory.
  nlohmann::json LocalCluster(const std::string& name);
  // The same, with a target inside a directory the postgres user may not enter: the
  // migration is created (the path is free) and fails in replicate (pg_basebackup cannot
  // write there).
  nlohmann::json UnwritableTargetCluster(const std::string& name);

  // GET /v1/migrations/{name} until its phase is one of `phases` (comma-separated).
  nlohmann::json WaitForPhase(const std::string& name, const std::string& phases,
                              std::chrono::seconds timeout = std::chrono::seconds(180));
  // GET `path` until `done(json)` or the timeout; returns the last JSON.
  nlohmann::json WaitFor(const std::string& path,
                         const std::function<bool(const nlohmann::json&)>& done,
                         std::chrono::seconds timeout = std::chrono::seconds(180));

 private:
  TempDir dir_{"pgshift-scheduler-it"};
  std::string store_path_, config_path_, password_file_;
  int target_n_ = 0;
  std::unique_ptr<PgCluster> source_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace pgshift::testing
