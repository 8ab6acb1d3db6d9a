// Each router action behind the lease check.
#include "workflow/lease_checked_router.h"

namespace pgshift {

Status LeaseCheckedRouter::Pause(std::chrono::milliseconds deadline,
                                 std::chrono::milliseconds lease) {
  RETURN_IF_ERROR(gate_.Check("router pause (" + inner_->Describe() + ")"));
  return inner_->Pause(deadline, lease);
}

Status LeaseCheckedRouter::Renew(std::chrono::milliseconds lease) {
  RETURN_IF_ERROR(gate_.Check("router pause renewal (" + inner_->Describe() + ")"));
  return inner_->Renew(lease);
}

Status LeaseCheckedRouter::Switch(const Endpoint& to, uint64_t version) {
  RETURN_IF_ERROR(gate_.Check("router switch (" + inner_->Describe() + ")"));
  return inner_->Switch(to, version);
}

Status LeaseCheckedRouter::Resume() {
  RETURN_IF_ERROR(gate_.Check("router resume (" + inner_->Describe() + ")"));
  return inner_->Resume();
}

Status LeaseCheckedRouter::PrepareSwitch(const Endpoint& to) {
  RETURN_IF_ERROR(gate_.Check("router switch preparation (" + inner_->Describe() + ")"));
  return inner_->PrepareSwitch(to);
}

}  // namespace pgshift
