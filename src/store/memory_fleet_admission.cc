// MemoryStore's admission under the fleet lock: its one mutex is the lock, so a decision and
// its write are one step for every caller of this store.
#include "store/memory_store.h"

namespace pgshift {

Result<std::optional<nlohmann::json>> MemoryStore::AdmitUnderFleetLock(
    const std::string& migration, const AdmissionDecision& decide, double now) {
  (void)now;
  std::lock_guard<std::mutex> l(mu_);
  std::vector<FleetMember> fleet;
  fleet.reserve(order_.size());
  for (const std::string& name : order_) {
    const Row& row = rows_.at(name);
    FleetMember m;
    m.name = name;
    if (!ParsePhaseValue(row.phase, &m.phase)) return UnknownPhase(name, row.phase);
    m.rollback_requested = row.record.rollback_requested;
    auto c = controls_.find(name);
    if (c != controls_.end()) m.control = c->second;
    fleet.push_back(std::move(m));
  }
  nlohmann::json patch = decide(fleet);
  if (patch.is_null()) return std::optional<nlohmann::json>();
  auto [it, added] = controls_.try_emplace(migration, nlohmann::json::object());
  it->second.merge_patch(patch);
  if (!it->second.is_object()) it->second = nlohmann::json::object();
  return std::optional<nlohmann::json>(it->second);
}

}  // namespace pgshift
