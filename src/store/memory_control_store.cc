// MemoryStore's ControlStore half: clusters, tokens, audit, notes and control objects in maps.
#include "store/memory_store.h"

namespace pgshift {

Status MemoryStore::CreateCluster(const ClusterRecord& cluster, double now) {
  std::lock_guard<std::mutex> l(mu_);
  if (clusters_.count(cluster.name)) {
    return AlreadyExists("a cluster named '" + cluster.name + "' is already registered");
  }
  ClusterRecord c = cluster;
  c.created_at = now;
  clusters_.emplace(c.name, std::move(c));
  return Status::Ok();
}

Result<ClusterRecord> MemoryStore::GetCluster(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = clusters_.find(name);
  if (it == clusters_.end()) return NotFound("no cluster named '" + name + "'");
  return it->second;
}

Result<std::vector<ClusterRecord>> MemoryStore::ListClusters(const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ClusterRecord> out;
  for (const auto& [name, c] : clusters_) {
    if (team.empty() || c.team == team) out.push_back(c);
  }
  return out;
}

Status MemoryStore::AddToken(const ApiTokenRecord& token, double now) {
  std::lock_guard<std::mutex> l(mu_);
  if (tokens_.count(token.sha256_hex)) return AlreadyExists("this token is already stored");
  ApiTokenRecord t = token;
  t.created_at = now;
  tokens_.emplace(t.sha256_hex, std::move(t));
  return Status::Ok();
}

Result<ApiTokenRecord> MemoryStore::FindToken(const std::string& sha256_hex) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = tokens_.find(sha256_hex);
  if (it == tokens_.end()) return NotFound("no such token");
  return it->second;
}

Status MemoryStore::AppendAudit(const AuditEntry& entry) {
  std::lock_guard<std::mutex> l(mu_);
  AuditEntry e = entry;
  e.id = next_audit_id_++;
  audit_.push_back(std::move(e));
  return Status::Ok();
}

Result<std::vector<AuditEntry>> MemoryStore::ListAudit(int limit, const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<AuditEntry> out;
  for (auto it = audit_.rbegin(); it != audit_.rend() && int(out.size()) < limit; ++it) {
    if (team.empty() || it->team == team) out.push_back(*it);
  }
  return out;
}

Status MemoryStore::AppendNote(const std::string& migration, const std::string& text, double now) {
  std::lock_guard<std::mutex> l(mu_);
  notes_[migration].push_back({next_note_id_++, now, text});
  return Status::Ok();
}

Result<std::vector<MigrationNote>> MemoryStore::Notes(const std::string& migration) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = notes_.find(migration);
  if (it == notes_.end()) return std::vector<MigrationNote>{};
  return it->second;
}

Result<nlohmann::json> MemoryStore::GetControl(const std::string& migration) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = controls_.find(migration);
  if (it == controls_.end()) return nlohmann::json::object();
  return it->second;
}

Result<std::map<std::string, nlohmann::json>> MemoryStore::AllControls() {
  std::lock_guard<std::mutex> l(mu_);
  return controls_;
}

Result<nlohmann::json> MemoryStore::MergeControl(const std::string& migration,
                                                 const nlohmann::json& patch, double now) {
  ASSIGN_OR_RETURN(auto control, UpdateControl(migration, MergingPatch(patch), now));
  return *control;
}

Result<std::optional<nlohmann::json>> MemoryStore::UpdateControl(const std::string& migration,
                                                                 const ControlUpdate& update,
                                                                 double) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = controls_.find(migration);
  nlohmann::json control = it == controls_.end() ? nlohmann::json::object() : it->second;
  if (!update(control)) return std::optional<nlohmann::json>();
  if (!control.is_object()) control = nlohmann::json::object();
  controls_[migration] = control;
  return std::optional<nlohmann::json>(control);
}

Status MemoryStore::CreateCampaign(const CampaignRecord& campaign, double now) {
  std::lock_guard<std::mutex> l(mu_);
  if (campaigns_.count(campaign.name)) {
    return AlreadyExists("a campaign named '" + campaign.name + "' already exists");
  }
  CampaignRecord c = campaign;
  c.created_at = c.updated_at = now;
  campaigns_.emplace(c.name, std::move(c));
  return Status::Ok();
}

Result<CampaignRecord> MemoryStore::GetCampaign(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = campaigns_.find(name);
  if (it == campaigns_.end()) return NotFound("no campaign named '" + name + "'");
  return it->second;
}

Result<std::vector<CampaignRecord>> MemoryStore::ListCampaigns(const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<CampaignRecord> out;
  for (const auto& [name, c] : campaigns_) {
    if (team.empty() || c.team == team) out.push_back(c);
  }
  return out;
}

Result<CampaignRecord> MemoryStore::MergeCampaign(const std::string& name,
                                                  const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = campaigns_.find(name);
  if (it == campaigns_.end()) return NotFound("no campaign named '" + name + "'");
  it->second.document.merge_patch(patch);
  if (!it->second.document.is_object()) it->second.document = nlohmann::json::object();
  it->second.updated_at = now;
  return it->second;
}

}  // namespace pgshift
