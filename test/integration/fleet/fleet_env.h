// FleetEnv: several real `pgshift server` processes sharing one PostgreSQL store, and source
// clusters each behind its own `pgshift proxy` route (an in-process ProxyServer whose admin API
// the servers call) with a ledger load through the proxy (CommitChecker), as the fleet tests
// need them: register a cluster, start its migration through one server, watch the phase in
// the store, kill or stop a server, and check afterwards that nothing was lost and exactly one
// primary takes writes.
//
// The store's password reaches the servers in a passfile (PGPASSFILE), never on a command line.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "demo/commit_checker.h"
#include "fixture/pg_cluster.h"
#include "fixture/server_process.h"
#include "fixture/temp_dir.h"
#include "proxy/proxy_server.h"

namespace pgshift::testing {

// One source cluster with its proxy route and its ledger load.
struct FleetCluster {
  std::string name;
  std::unique_ptr<PgCluster> source;
  std::unique_ptr<proxy::ProxyServer> proxy;
  std::unique_ptr<demo::CommitChecker> ledger;
  std::string target_dir;
  // The application's endpoint: the proxy's route for this cluster.
  ConnInfo AppEndpoint() const;
  // The proxy's route for the cluster now: {"host","port","version","paused"}.
  nlohmann::json Route() const;
};

class FleetEnv {
 public:
  FleetEnv();
  ~FleetEnv();

  // Starts server `i` (0, 1, ...) on the shared store; fails the test when it cannot.
  ServerProcess& StartServer(size_t i);
  ServerProcess& server(size_t i) { return *servers_.at(i); }
  std::unique_ptr<ServerProcess>& server_ptr(size_t i) { return servers_.at(i); }

  // A source cluster with an application role, a proxy route and a ledger load of `clients`
  // writers through the proxy (0: none); registered through server `via`.
  FleetCluster& AddCluster(const std::string& name, size_t via, int clients = 2);

  // POST /v1/migrations and .../start through server `via`.
  void StartMigration(const std::string& migration, const std::string& cluster, size_t via);

  // The store, read directly (the tests watch it, not a server's view of it).
  std::string Phase(const std::string& migration) const;
  // The runner lease row: {"owner","token","expires_at"} ({} when none).
  nlohmann::json Lease(const std::string& migration) const;
  int64_t EventCount(const std::string& migration) const;
  // Polls the store every 20 ms until the phase is one of `phases` (comma-separated); the
  // phase reached, or "" at the timeout.
  std::string WaitForPhase(const std::string& migration, const std::string& phases,
                           std::chrono::seconds timeout = std::chrono::seconds(240));

  // After the migration of `c` ended: stops its load and counts acknowledged commits missing
  // on the primary the route points at.
  uint64_t StopLoadAndCountLost(FleetCluster& c);
  // Whether the application role can commit on `host:port` (directly, not through the proxy).
  static bool AppCanWrite(int port);

  const std::string& store_uri() const { return store_uri_; }
  PgCluster& store() { return *store_; }
  std::string token;  // team payments

 private:
  TempDir dir_{"pgshift-fleet-it"};
  std::unique_ptr<PgCluster> store_;
  std::string store_uri_, config_path_, password_file_, passfile_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
  std::vector<std::unique_ptr<FleetCluster>> clusters_;
};

}  // namespace pgshift::testing
