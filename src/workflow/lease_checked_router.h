// LeaseCheckedRouter: the Router a step is handed (MigrationContext::router()): every pause,
// renewal of the pause, switch, resume and switch preparation asks the LeaseGate first and is
// not sent once the runner lease was lost, so a server another one took over from never moves
// traffic again (the new holder pauses anew; the old pause lapses with its lease).
#pragma once

#include <memory>

#include "workflow/lease_gate.h"
#include "workflow/router.h"

namespace pgshift {

class LeaseCheckedRouter : public Router {
 public:
  LeaseCheckedRouter(std::unique_ptr<Router> inner, const LeaseGate& gate)
      : inner_(std::move(inner)), gate_(gate) {}

  Status Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) override;
  std::set<int> HeldBackends() const override { return inner_->HeldBackends(); }
  Status Renew(std::chrono::milliseconds lease) override;
  Status Switch(const Endpoint& to, uint64_t version) override;
  Status Resume() override;
  std::string Describe() const override { return inner_->Describe(); }
  std::string RouteKey() const override { return inner_->RouteKey(); }
  bool HoldsSessionsAcrossSwitch() const override { return inner_->HoldsSessionsAcrossSwitch(); }
  Status PrepareSwitch(const Endpoint& to) override;
  // A read: the target fence admits these roles.
  Result<std::vector<std::string>> BackendRoles() override { return inner_->BackendRoles(); }
  Result<bool> MayHaveServedOn(const Endpoint& to) override { return inner_->MayHaveServedOn(to); }

 private:
  std::unique_ptr<Router> inner_;
  const LeaseGate& gate_;
};

}  // namespace pgshift
