// LeaseCheckedPlatform: the Platform a step is handed (MigrationContext::platform()): every
// fence, unfence (of the source or of the target), promotion and rewind asks the LeaseGate first
// and is not taken once the runner lease was lost, so a server another one took over from never
// acts on a cluster again.
#pragma once

#include <memory>

#include "platform/platform.h"
#include "workflow/lease_gate.h"

namespace pgshift {

class LeaseCheckedPlatform : public Platform {
 public:
  LeaseCheckedPlatform(std::unique_ptr<Platform> inner, const LeaseGate& gate)
      : inner_(std::move(inner)), gate_(gate) {}

  std::string_view kind() const override { return inner_->kind(); }
  Result<FenceReport> Fence(PgConnection& node, const FenceOptions& options, Clock& clock) override;
  Status Unfence(PgConnection& node, const FenceOptions& options) override;
  Result<std::chrono::milliseconds> Promote(PgConnection& node, std::chrono::milliseconds timeout,
                                            Clock& clock) override;
  bool CanRewind() const override { return inner_->CanRewind(); }
  Status RewindToFollow(const ConnInfo& primary, Clock& clock) override;
  Status FenceTarget(PgConnection& target, const TargetFenceOptions& options,
                     Clock& clock) override;
  Status UnfenceTarget(PgConnection& target, const TargetFenceOptions& options,
                       bool keep_read_only) override;

 private:
  std::unique_ptr<Platform> inner_;
  const LeaseGate& gate_;
};

}  // namespace pgshift
