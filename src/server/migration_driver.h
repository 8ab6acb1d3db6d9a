// MigrationDriver: the server runs each migration it started on a thread of its own, through
// MigrationControl::Run with wait_at_gate (the engine replicates, validates and waits at the
// gate for a cutover or rollback request, which the API writes into the store). A driver's
// progress reports and transitions go to LiveStatus and to every MigrationObserver.
//
// Stop() asks every thread to stop after its current turn; each then releases its runner
// lease (the engine's Forget), so another server or a restart takes over at once.
// ResumeStarted() drives again every migration the server had started (control
// "started": true) that is not terminal: what a restart does.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "server/server_context.h"

namespace pgshift::server {

class MigrationDriver {
 public:
  explicit MigrationDriver(ServerContext& ctx);
  ~MigrationDriver();  // Stop()
  MigrationDriver(const MigrationDriver&) = delete;
  MigrationDriver& operator=(const MigrationDriver&) = delete;

  // Starts driving `name` unless a thread of this driver already does (then Ok: it will see
  // any new request on its next turn). kFailedPrecondition once stopping.
  Status Drive(const std::string& name);
  bool Driving(const std::string& name) const;
  // Drives every started, non-terminal migration; returns how many it started.
  int ResumeStarted();
  // Stopgap until the scheduler's claim loop: ResumeStarted every `period` on a thread of its
  // own (until Stop), so that with a shared store this server takes over, once their lease
  // lapsed, the migrations another server started and no longer drives.
  void ClaimStartedEvery(std::chrono::milliseconds period);
  // Stops after the current turn of each migration and joins the threads.
  void Stop();

 private:
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void Run(const std::string& name, Worker* worker);
  void ReapLocked();

  ServerContext& ctx_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;
  std::thread claimer_;
};

}  // namespace pgshift::server
