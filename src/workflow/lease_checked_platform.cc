// Each platform action behind the lease check.
#include "workflow/lease_checked_platform.h"

namespace pgshift {

Result<FenceReport> LeaseCheckedPlatform::Fence(PgConnection& node, const FenceOptions& options,
                                                Clock& clock) {
  RETURN_IF_ERROR(gate_.Check("platform fence"));
  return inner_->Fence(node, options, clock);
}

Status LeaseCheckedPlatform::Unfence(PgConnection& node, const FenceOptions& options) {
  RETURN_IF_ERROR(gate_.Check("platform unfence"));
  return inner_->Unfence(node, options);
}

Result<std::chrono::milliseconds> LeaseCheckedPlatform::Promote(PgConnection& node,
                                                                std::chrono::milliseconds timeout,
                                                                Clock& clock) {
  RETURN_IF_ERROR(gate_.Check("platform promote"));
  return inner_->Promote(node, timeout, clock);
}

Status LeaseCheckedPlatform::RewindToFollow(const ConnInfo& primary, Clock& clock) {
  RETURN_IF_ERROR(gate_.Check("platform rewind"));
  return inner_->RewindToFollow(primary, clock);
}

Status LeaseCheckedPlatform::FenceTarget(PgConnection& target, const TargetFenceOptions& options,
                                         Clock& clock) {
  RETURN_IF_ERROR(gate_.Check("platform target fence"));
  return inner_->FenceTarget(target, options, clock);
}

Status LeaseCheckedPlatform::UnfenceTarget(PgConnection& target, const TargetFenceOptions& options,
                                           bool keep_read_only) {
  RETURN_IF_ERROR(gate_.Check("platform target unfence"));
  return inner_->UnfenceTarget(target, options, keep_read_only);
}

}  // namespace pgshift
