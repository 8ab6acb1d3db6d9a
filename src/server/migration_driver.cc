// The driver's face to the routes and the server: the claim loop behind it.
#include "server/migration_driver.h"

#include <spdlog/spdlog.h>

namespace pgshift::server {

MigrationDriver::MigrationDriver(ServerContext& ctx, EngineSeams seams)
    : ctx_(ctx), loop_(ctx, ctx.config.scheduler, std::move(seams)) {}

MigrationDriver::~MigrationDriver() { Stop(); }

Status MigrationDriver::Drive(const std::string& name) {
  if (stop_) return FailedPrecondition("the server is stopping");
  loop_.Start();
  loop_.Wake(name);
  return Status::Ok();
}

bool MigrationDriver::Driving(const std::string& name) const { return loop_.Driving(name); }

int MigrationDriver::ResumeStarted() {
  int n = 0;
  auto controls = ctx_.control.AllControls();
  if (!controls.ok()) {
    spdlog::error("server: cannot resume migrations: {}", controls.status().message());
  } else {
    for (const auto& [name, control] : *controls) {
      if (!control.value("started", false)) continue;
      auto r = ctx_.migrations.Get(name);
      if (!r.ok() || IsTerminal(r->phase)) continue;
      // A failed migration waits for the operator (a rollback or start request drives it).
      if (r->phase == Phase::kFailed && !r->rollback_requested) continue;
      spdlog::info("server: resuming migration {} ({})", name, PhaseName(r->phase));
      ++n;
    }
  }
  if (!stop_) loop_.Start();
  return n;
}

void MigrationDriver::ClaimStartedEvery(std::chrono::milliseconds period) {
  loop_.SetTickPeriod(period);
  if (!stop_) loop_.Start();
}

void MigrationDriver::Stop() {
  stop_ = true;
  loop_.Stop();
}

}  // namespace pgshift::server
