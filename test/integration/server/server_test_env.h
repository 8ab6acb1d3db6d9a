// ServerTestEnv: what the server's integration tests share: a store with tokens for two teams
// (payments, search) and the platform team, a source cluster per team whose superuser
// password sits in a file (the canary: it must appear nowhere the server writes or answers),
// a started `pgshift server`, and helpers to register clusters and wait for phases.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "fixture/pg_cluster.h"
#include "fixture/server_process.h"
#include "fixture/temp_dir.h"

namespace pgshift::testing {

class ServerTestEnv {
 public:
  ServerTestEnv();
  ~ServerTestEnv();

  // (Re)starts the server on the env's store and config; fails the test when it cannot.
  void StartServer(const std::map<std::string, std::string>& env = {});
  ServerProcess& server() { return *server_; }
  std::unique_ptr<ServerProcess>& server_ptr() { return server_; }

  TempDir& dir() { return dir_; }
  const std::string& store_path() const { return store_path_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& password_file() const { return password_file_; }

  std::string payments_token, payments_token2, search_token, platform_token;

  // The registration body of a cluster on `source` for `team` with a local target in a fresh
  // directory.
  nlohmann::json LocalCluster(const std::string& name, const std::string& team,
                              const PgCluster& source);
  // A conninfo for `source` without its password.
  static std::string ConninfoOf(const PgCluster& source);

  // Polls GET /v1/migrations/{name} until its phase is one of `phases` (comma-separated) or
  // the timeout; returns the last JSON.
  nlohmann::json WaitForPhase(const std::string& name, const std::string& token,
                              const std::string& phases,
                              std::chrono::seconds timeout = std::chrono::seconds(180));

 private:
  TempDir dir_{"pgshift-server-it"};
  std::string store_path_, config_path_, password_file_;
  int target_n_ = 0;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace pgshift::testing
