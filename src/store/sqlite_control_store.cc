// SqliteStore's ControlStore half: the control plane's tables of schema versions 4 and 5.
#include <sqlite3.h>

#include "store/sqlite_statement.h"
#include "store/sqlite_store.h"

namespace pgshift {
namespace {

using sqlite::Stmt;
using sqlite::Txn;

ClusterRecord ReadCluster(const Stmt& s) {
  return {s.Text(0), s.Text(1), StoredJsonObject(s.Text(2)), StoredJsonObject(s.Text(3)),
          s.Real(4)};
}

constexpr const char* kSelectCluster =
    "SELECT name, team, labels, registration, created_at FROM clusters";

}  // namespace

Status SqliteStore::CreateCluster(const ClusterRecord& c, double now) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO clusters(name, team, labels, registration, created_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5)");
  s.Bind(1, c.name).Bind(2, c.team).Bind(3, c.labels.dump()).Bind(4, c.registration.dump());
  s.Bind(5, now);
  int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return AlreadyExists("a cluster named '" + c.name + "' is already registered");
  }
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Result<ClusterRecord> SqliteStore::GetCluster(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, (std::string(kSelectCluster) + " WHERE name = ?1").c_str());
  s.Bind(1, name);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return NotFound("no cluster named '" + name + "'");
  if (rc != SQLITE_ROW) return Unavailable(s.Error());
  return ReadCluster(s);
}

Result<std::vector<ClusterRecord>> SqliteStore::ListClusters(const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, (std::string(kSelectCluster) + " WHERE ?1 = '' OR team = ?1 ORDER BY name").c_str());
  s.Bind(1, team);
  std::vector<ClusterRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadCluster(s));
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return out;
}

Status SqliteStore::AddToken(const ApiTokenRecord& t, double now) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO api_tokens(sha256, team, platform, label, created_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5)");
  s.Bind(1, t.sha256_hex).Bind(2, t.team).Bind(3, int64_t{t.platform ? 1 : 0}).Bind(4, t.label);
  s.Bind(5, now);
  int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) return AlreadyExists("this token is already stored");
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Result<ApiTokenRecord> SqliteStore::FindToken(const std::string& sha256_hex) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT sha256, team, platform, label, created_at FROM api_tokens WHERE sha256 = ?1");
  s.Bind(1, sha256_hex);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return NotFound("no such token");
  if (rc != SQLITE_ROW) return Unavailable(s.Error());
  return ApiTokenRecord{s.Text(0), s.Text(1), s.Int(2) != 0, s.Text(3), s.Real(4)};
}

Status SqliteStore::AppendAudit(const AuditEntry& e) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO audit_log(at, identity, team, action, target, result, status) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.Bind(1, e.at).Bind(2, e.identity).Bind(3, e.team).Bind(4, e.action).Bind(5, e.target);
  s.Bind(6, e.result).Bind(7, int64_t{e.status});
  if (s.Step() != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Result<std::vector<AuditEntry>> SqliteStore::ListAudit(int limit, const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT id, at, identity, team, action, target, result, status FROM audit_log "
         "WHERE ?1 = '' OR team = ?1 ORDER BY id DESC LIMIT ?2");
  s.Bind(1, team).Bind(2, int64_t{limit});
  std::vector<AuditEntry> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back({s.Int(0), s.Real(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5), s.Text(6),
                   int(s.Int(7))});
  }
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return out;
}

Status SqliteStore::AppendNote(const std::string& migration, const std::string& text, double now) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "INSERT INTO migration_notes(migration, at, text) VALUES (?1, ?2, ?3)");
  s.Bind(1, migration).Bind(2, now).Bind(3, text);
  if (s.Step() != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Result<std::vector<MigrationNote>> SqliteStore::Notes(const std::string& migration) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT id, at, text FROM migration_notes WHERE migration = ?1 ORDER BY id");
  s.Bind(1, migration);
  std::vector<MigrationNote> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Int(0), s.Real(1), s.Text(2)});
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return out;
}

Result<nlohmann::json> SqliteStore::GetControl(const std::string& migration) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT control FROM migration_controls WHERE migration = ?1");
  s.Bind(1, migration);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return nlohmann::json::object();
  if (rc != SQLITE_ROW) return Unavailable(s.Error());
  return StoredJsonObject(s.Text(0));
}

Result<std::map<std::string, nlohmann::json>> SqliteStore::AllControls() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT migration, control FROM migration_controls");
  std::map<std::string, nlohmann::json> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out[s.Text(0)] = StoredJsonObject(s.Text(1));
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return out;
}

Result<nlohmann::json> SqliteStore::MergeControlLocked(const std::string& migration,
                                                       const nlohmann::json& patch, double now) {
  ASSIGN_OR_RETURN(auto control, UpdateControlLocked(migration, MergingPatch(patch), now));
  return *control;
}

Result<std::optional<nlohmann::json>> SqliteStore::UpdateControlLocked(const std::string& migration,
                                                                       const ControlUpdate& update,
                                                                       double now) {
  nlohmann::json control = nlohmann::json::object();
  {
    Stmt s(db_, "SELECT control FROM migration_controls WHERE migration = ?1");
    s.Bind(1, migration);
    int rc = s.Step();
    if (rc == SQLITE_ROW) {
      control = StoredJsonObject(s.Text(0));
    } else if (rc != SQLITE_DONE) {
      return Unavailable(s.Error());
    }
  }
  if (!update(control)) return std::optional<nlohmann::json>();
  if (!control.is_object()) control = nlohmann::json::object();
  Stmt u(db_,
         "INSERT INTO migration_controls(migration, control, updated_at) VALUES (?1, ?2, ?3) "
         "ON CONFLICT(migration) DO UPDATE SET control = ?2, updated_at = ?3");
  u.Bind(1, migration).Bind(2, control.dump()).Bind(3, now);
  if (u.Step() != SQLITE_DONE) return Unavailable(u.Error());
  return std::optional<nlohmann::json>(control);
}

Result<nlohmann::json> SqliteStore::MergeControl(const std::string& migration,
                                                 const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  ASSIGN_OR_RETURN(nlohmann::json control, MergeControlLocked(migration, patch, now));
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return control;
}

Result<std::optional<nlohmann::json>> SqliteStore::UpdateControl(const std::string& migration,
                                                                 const ControlUpdate& update,
                                                                 double now) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  ASSIGN_OR_RETURN(auto control, UpdateControlLocked(migration, update, now));
  if (!control) return control;  // Txn rolls back: nothing written
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return control;
}

namespace {

constexpr const char* kSelectCampaign =
    "SELECT name, team, document, created_at, updated_at FROM campaigns";

CampaignRecord ReadCampaign(const Stmt& s) {
  return {s.Text(0), s.Text(1), StoredJsonObject(s.Text(2)), s.Real(3), s.Real(4)};
}

}  // namespace

Status SqliteStore::CreateCampaign(const CampaignRecord& c, double now) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO campaigns(name, team, document, created_at, updated_at) "
         "VALUES (?1, ?2, ?3, ?4, ?4)");
  s.Bind(1, c.name).Bind(2, c.team).Bind(3, c.document.dump()).Bind(4, now);
  int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return AlreadyExists("a campaign named '" + c.name + "' already exists");
  }
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Result<CampaignRecord> SqliteStore::GetCampaign(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, (std::string(kSelectCampaign) + " WHERE name = ?1").c_str());
  s.Bind(1, name);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return NotFound("no campaign named '" + name + "'");
  if (rc != SQLITE_ROW) return Unavailable(s.Error());
  return ReadCampaign(s);
}

Result<std::vector<CampaignRecord>> SqliteStore::ListCampaigns(const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, (std::string(kSelectCampaign) + " WHERE ?1 = '' OR team = ?1 ORDER BY name").c_str());
  s.Bind(1, team);
  std::vector<CampaignRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadCampaign(s));
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return out;
}

Result<CampaignRecord> SqliteStore::MergeCampaign(const std::string& name,
                                                  const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  CampaignRecord c;
  {
    Stmt s(db_, (std::string(kSelectCampaign) + " WHERE name = ?1").c_str());
    s.Bind(1, name);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return NotFound("no campaign named '" + name + "'");
    if (rc != SQLITE_ROW) return Unavailable(s.Error());
    c = ReadCampaign(s);
  }
  c.document.merge_patch(patch);
  if (!c.document.is_object()) c.document = nlohmann::json::object();
  c.updated_at = now;
  {
    Stmt u(db_, "UPDATE campaigns SET document = ?2, updated_at = ?3 WHERE name = ?1");
    u.Bind(1, name).Bind(2, c.document.dump()).Bind(3, now);
    if (u.Step() != SQLITE_DONE) return Unavailable(u.Error());
  }
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return c;
}

}  // namespace pgshift
