// MigrationObserver: what the server tells about the migrations it drives, so that other parts
// (webhooks, armed cutovers, metric series) can subscribe without the driver knowing them.
// Calls come from a driver thread, one per migration, and must not block for long: an
// observer that posts somewhere queues the work and returns.
#pragma once

#include <string>

#include "migration/phase.h"
#include "workflow/progress.h"

namespace pgshift::server {

class MigrationObserver {
 public:
  virtual ~MigrationObserver() = default;
  // A phase change the driver's engine made durable.
  virtual void OnTransition(const std::string& migration, Phase from, Phase to,
                            const std::string& reason) = 0;
  // A progress report (lag, bytes copied) of a driven migration.
  virtual void OnProgress(const std::string& migration, const ProgressUpdate& update) = 0;
  // A driver's run ended with an error or a failed/rolled-back migration (`why` has no
  // secret). Default: nothing.
  virtual void OnFailure(const std::string& migration, const std::string& why) {
    (void)migration;
    (void)why;
  }
};

}  // namespace pgshift::server
