// The fence sequence shared by every platform: block new connections (the platform's own
// layer), enforce read-only, terminate what is left, verify. Only the connection-blocking layer
// differs between platforms, so it is passed in.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"
#include "platform/platform.h"

namespace pgshift {

// Layer 2: how a platform keeps new client connections out. Both calls are idempotent.
class ConnectionBlock {
 public:
  virtual ~ConnectionBlock() = default;
  virtual std::string name() const = 0;  // for FenceReport::layers
  virtual bool configured() const = 0;   // false: the platform has no such layer (skipped)
  // May leave its change to take effect at the configuration reload RunFence issues right
  // after it (for the read-only layer).
  virtual Status Block(const FenceOptions& options, const Deadline& deadline) = 0;
  virtual Status Unblock(const FenceOptions& options) = 0;
};

// Layers 2, 4, 3 in that order (read-only before terminating, so that whatever reconnects
// through a gap cannot write), then the verification the Platform contract describes.
Result<FenceReport> RunFence(PgConnection& source, const FenceOptions& options,
                             ConnectionBlock& block, Clock& clock);
// The part of the fence that may run before traffic is held because it changes nothing in
// force: checks the orchestrator role's rights and writes the read-only layer's ALTER SYSTEM
// without reloading (read_only_fence.h). RunFence with options.read_only_staged then only
// reloads; the reload, the termination and the final LSN keep their order. Undone by
// RunUnfence like a fence in force.
Status StageReadOnlyFence(PgConnection& source, const FenceOptions& options);
// Read-only off first (and in force), then connections let back in.
Status RunUnfence(PgConnection& source, const FenceOptions& options, ConnectionBlock& block,
                  Clock& clock);

}  // namespace pgshift
