// ServerContext: everything an API handler of `pgshift server` works with, in one place, so
// that route files (cluster, migration, cutover policy, streams) share it instead of globals:
// the configuration, both stores, the clock, live status and metrics, the migration driver,
// the observers that hear of transitions and progress, and the audit writer. Callers are
// identified with IdentifyCaller (caller.h); errors are built by ErrorResponse (api_error.h);
// handlers are wrapped by Authenticated (api_handler.h), which identifies, audits and counts.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "server/caller.h"
#include "server/live_status.h"
#include "server/migration_observer.h"
#include "server/server_config.h"
#include "server/server_metrics.h"
#include "store/control_store.h"
#include "store/migration_store.h"

namespace pgshift::server {

class MigrationDriver;

class ServerContext {
 public:
  ServerContext(ServerConfig config, MigrationStore& migrations, ControlStore& control,
                Clock& clock)
      : config(std::move(config)), migrations(migrations), control(control), clock(clock) {}

  const ServerConfig config;
  MigrationStore& migrations;
  ControlStore& control;
  Clock& clock;
  LiveStatus live;
  ServerMetrics metrics;
  // Set by the server before it serves; null in unit tests that drive nothing.
  MigrationDriver* driver = nullptr;
  // Set when the server stops: streams end, drivers stop after their turn.
  std::atomic<bool> stopping{false};

  // The cutover policy's last word before a cutover is requested (e.g. a required approval):
  // a non-ok status refuses the request with that status. Unset: allowed.
  std::function<Status(const std::string& migration, const std::string& team, const Caller&)>
      cutover_gate;

  // Observers hear of every transition and progress report of a driven migration.
  void AddObserver(std::shared_ptr<MigrationObserver> observer);
  std::vector<std::shared_ptr<MigrationObserver>> Observers() const;

  // Writes one audit entry; a store failure is counted and logged, never fatal.
  // `caller` null: the request was not authenticated.
  void Audit(const Caller* caller, const std::string& action, const std::string& target,
             int http_status, const std::string& result);

 private:
  mutable std::mutex observers_mu_;
  std::vector<std::shared_ptr<MigrationObserver>> observers_;
};

}  // namespace pgshift::server
