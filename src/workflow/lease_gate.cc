// The lease check before an action, with the message a lost lease gives.
#include "workflow/lease_gate.h"

namespace pgshift {

Status LeaseGate::Check(std::string_view action) const {
  auto expires = store_.CheckRunner(migration_, lease_);
  if (expires.ok()) return Status::Ok();
  const std::string where = "migration '" + migration_ + "' in phase " +
                            std::string(PhaseName(phase_.load())) + ": " + std::string(action) +
                            " not taken";
  if (expires.status().code() == Code::kAborted) {
    return Aborted(where + ": lease lost (token " + std::to_string(lease_.token) + " of " +
                   lease_.owner + " is no longer current: another runner took it over)");
  }
  return Status(expires.status().code(),
                where + ": cannot check the runner lease: " + expires.status().message());
}

}  // namespace pgshift
