// In-memory implementation of the migration store.
#include "store/memory_store.h"

namespace pgshift {

Result<MemoryStore::Row*> MemoryStore::Find(const std::string& name) {
  auto it = rows_.find(name);
  if (it == rows_.end()) {
    return NotFound("no migration named '" + name + "' in memory (see 'pgshift migrate list')");
  }
  return &it->second;
}

Result<MigrationRecord> MemoryStore::Read(const Row& row) const {
  MigrationRecord r = row.record;
  if (!ParsePhaseValue(row.phase, &r.phase)) return UnknownPhase(r.name, row.phase);
  return r;
}

Status MemoryStore::CheckLease(const std::string& name, const Row& row,
                               const RunnerLease& lease) const {
  if (row.lease.owner.empty() || row.lease.owner != lease.owner || row.lease.token != lease.token) {
    return LeaseLost(name, lease);
  }
  return Status::Ok();
}

Status MemoryStore::Create(const MigrationRecord& record, double now) {
  std::lock_guard<std::mutex> l(mu_);
  if (rows_.count(record.name)) {
    return AlreadyExists("a migration named '" + record.name +
                         "' already exists in memory; choose another name or see 'pgshift "
                         "migrate status " +
                         record.name + "'");
  }
  Row row;
  row.record = record;
  row.record.created_at = row.record.updated_at = now;
  row.record.cutover_requested = row.record.rollback_requested = false;
  if (!row.record.data.is_object()) row.record.data = nlohmann::json::object();
  row.phase = static_cast<int>(record.phase);
  rows_.emplace(record.name, std::move(row));
  order_.push_back(record.name);
  return Status::Ok();
}

Result<MigrationRecord> MemoryStore::Get(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(Row * row, Find(name));
  return Read(*row);
}

Result<std::vector<MigrationRecord>> MemoryStore::List() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<MigrationRecord> out;
  for (const auto& name : order_) {
    ASSIGN_OR_RETURN(MigrationRecord r, Read(rows_.at(name)));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<EventRecord>> MemoryStore::Events(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(name);
  if (it == rows_.end()) return std::vector<EventRecord>{};  // as a query over no rows
  return it->second.events;
}

Status MemoryStore::ApplyTransition(const std::string& name, const RunnerLease& lease, Phase from,
                                    Phase to, const std::string& reason,
                                    const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(Row * row, Find(name));
  ASSIGN_OR_RETURN(MigrationRecord cur, Read(*row));
  RETURN_IF_ERROR(CheckLease(name, *row, lease));
  RETURN_IF_ERROR(CheckTransition(name, cur, from, to));
  row->record.data.merge_patch(patch);
  row->record.updated_at = now;
  row->phase = static_cast<int>(to);
  row->events.push_back({next_event_id_++, now, from, to, reason});
  return Status::Ok();
}

Status MemoryStore::MergeData(const std::string& name, const RunnerLease& lease,
                              Phase expected_phase, const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(Row * row, Find(name));
  ASSIGN_OR_RETURN(MigrationRecord cur, Read(*row));
  RETURN_IF_ERROR(CheckLease(name, *row, lease));
  if (cur.phase != expected_phase) return MovedOn(name, cur.phase, expected_phase);
  row->record.data.merge_patch(patch);
  row->record.updated_at = now;
  return Status::Ok();
}

Status MemoryStore::RequestCutover(const std::string& name, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(Row * row, Find(name));
  row->record.cutover_requested = true;
  row->record.updated_at = now;
  return Status::Ok();
}

Status MemoryStore::RequestRollback(const std::string& name, const nlohmann::json& patch,
                                    double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(Row * row, Find(name));
  ASSIGN_OR_RETURN(MigrationRecord cur, Read(*row));
  RETURN_IF_ERROR(CheckRollbackRequest(name, cur));
  row->record.data.merge_patch(patch);
  row->record.rollback_requested = true;
  row->record.updated_at = now;
  return Status::Ok();
}

Result<LeaseGrant> MemoryStore::AcquireRunner(const std::string& name, const std::string& owner,
                                              std::chrono::milliseconds ttl, double now,
                                              const std::string& dead_owner) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(Row * row, Find(name));
  RETURN_IF_ERROR(Read(*row).status());
  bool granted = false;
  LeaseRow next = DecideRunnerGrant(row->lease, owner, ttl, now, dead_owner, &granted);
  LeaseGrant g;
  if (!granted) {
    g.holder = row->lease.owner;
    g.holder_expires_at = row->lease.expires_at;
    return g;
  }
  row->lease = next;
  g.acquired = true;
  g.lease = {next.owner, next.token};
  return g;
}

Status MemoryStore::RenewRunner(const std::string& name, const RunnerLease& lease,
                                std::chrono::milliseconds ttl, double now) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(name);
  if (it == rows_.end()) return LeaseLost(name, lease);
  Row* row = &it->second;
  RETURN_IF_ERROR(CheckLease(name, *row, lease));
  row->lease.expires_at = now + std::chrono::duration<double>(ttl).count();
  return Status::Ok();
}

Result<double> MemoryStore::CheckRunner(const std::string& name, const RunnerLease& lease) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(name);
  if (it == rows_.end()) return LeaseLost(name, lease);
  RETURN_IF_ERROR(CheckLease(name, it->second, lease));
  return it->second.lease.expires_at;
}

Status MemoryStore::ReleaseRunner(const std::string& name, const RunnerLease& lease) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(name);
  if (it == rows_.end()) return Status::Ok();
  Row* row = &it->second;
  if (CheckLease(name, *row, lease).ok()) {
    row->lease.owner.clear();
    row->lease.expires_at = 0;
  }
  return Status::Ok();
}

void MemoryStore::SetRawPhaseForTest(const std::string& name, int value) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(name);
  if (it != rows_.end()) it->second.phase = value;
}

Result<uint64_t> MemoryStore::NextRouteVersion(const std::string& route_key) {
  if (route_key.empty()) return InvalidArgument("route version: the route key is empty");
  std::lock_guard<std::mutex> l(mu_);
  return ++route_versions_[route_key];
}

}  // namespace pgshift
