// PostgresStore's ControlStore half: the control plane's tables of schema version 4, shared by
// every server of the fleet.
#include "store/postgres_store.h"

namespace pgshift {
namespace {

ClusterRecord ReadCluster(const PgResult& r, int row) {
  return {r.Get(row, "name"), r.Get(row, "team"), StoredJsonObject(r.Get(row, "labels")),
          StoredJsonObject(r.Get(row, "registration")), r.GetDouble(row, "created_at")};
}

constexpr const char* kClusterColumns = "name, team, labels, registration, created_at";
constexpr const char* kCampaignColumns = "name, team, document, created_at, updated_at";

CampaignRecord ReadCampaign(const PgResult& r, int row) {
  return {r.Get(row, "name"), r.Get(row, "team"), StoredJsonObject(r.Get(row, "document")),
          r.GetDouble(row, "created_at"), r.GetDouble(row, "updated_at")};
}

}  // namespace

Status PostgresStore::CreateCluster(const ClusterRecord& c, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("INSERT INTO " + T("clusters") + "(" + kClusterColumns +
                                               ") VALUES ($1, $2, $3, $4, $5) "
                                               "ON CONFLICT (name) DO NOTHING RETURNING name",
                                           {c.name, c.team, c.labels.dump(), c.registration.dump(),
                                            Float8(now)}));
  if (r.rows() == 0) {
    return AlreadyExists("a cluster named '" + c.name + "' is already registered");
  }
  return Status::Ok();
}

Result<ClusterRecord> PostgresStore::GetCluster(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked(std::string("SELECT ") + kClusterColumns + " FROM " +
                                               T("clusters") + " WHERE name = $1",
                                           {name}));
  if (r.rows() == 0) return NotFound("no cluster named '" + name + "'");
  return ReadCluster(r, 0);
}

Result<std::vector<ClusterRecord>> PostgresStore::ListClusters(const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r,
                   QueryLocked(std::string("SELECT ") + kClusterColumns + " FROM " + T("clusters") +
                                   " WHERE $1 = '' OR team = $1 ORDER BY name COLLATE \"C\"",
                               {team}));
  std::vector<ClusterRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadCluster(r, i));
  return out;
}

Status PostgresStore::AddToken(const ApiTokenRecord& t, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("INSERT INTO " + T("api_tokens") +
                                               "(sha256, team, platform, label, created_at) "
                                               "VALUES ($1, $2, $3, $4, $5) "
                                               "ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
                                           {t.sha256_hex, t.team, t.platform ? "true" : "false",
                                            t.label, Float8(now)}));
  if (r.rows() == 0) return AlreadyExists("this token is already stored");
  return Status::Ok();
}

Result<ApiTokenRecord> PostgresStore::FindToken(const std::string& sha256_hex) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("SELECT sha256, team, platform, label, created_at "
                                           "FROM " +
                                               T("api_tokens") + " WHERE sha256 = $1",
                                           {sha256_hex}));
  if (r.rows() == 0) return NotFound("no such token");
  return ApiTokenRecord{r.Get(0, "sha256"), r.Get(0, "team"), r.GetBool(0, "platform"),
                        r.Get(0, "label"), r.GetDouble(0, "created_at")};
}

Status PostgresStore::AppendAudit(const AuditEntry& e) {
  std::lock_guard<std::mutex> l(mu_);
  return QueryLocked("INSERT INTO " + T("audit_log") +
                         "(at, identity, team, action, target, result, status) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     {Float8(e.at), e.identity, e.team, e.action, e.target, e.result,
                      std::to_string(e.status)})
      .status();
}

Result<std::vector<AuditEntry>> PostgresStore::ListAudit(int limit, const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(
      PgResult r,
      QueryLocked("SELECT id, at, identity, team, action, target, result, status "
                  "FROM " +
                      T("audit_log") + " WHERE $1 = '' OR team = $1 ORDER BY id DESC LIMIT $2",
                  {team, std::to_string(std::max(limit, 0))}));
  std::vector<AuditEntry> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.GetInt(i, "id"), r.GetDouble(i, "at"), r.Get(i, "identity"), r.Get(i, "team"),
                   r.Get(i, "action"), r.Get(i, "target"), r.Get(i, "result"),
                   static_cast<int>(r.GetInt(i, "status"))});
  }
  return out;
}

Status PostgresStore::AppendNote(const std::string& migration, const std::string& text,
                                 double now) {
  std::lock_guard<std::mutex> l(mu_);
  return QueryLocked(
             "INSERT INTO " + T("migration_notes") + "(migration, at, text) VALUES ($1, $2, $3)",
             {migration, Float8(now), text})
      .status();
}

Result<std::vector<MigrationNote>> PostgresStore::Notes(const std::string& migration) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("SELECT id, at, text FROM " + T("migration_notes") +
                                               " WHERE migration = $1 ORDER BY id",
                                           {migration}));
  std::vector<MigrationNote> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.GetInt(i, "id"), r.GetDouble(i, "at"), r.Get(i, "text")});
  }
  return out;
}

Result<nlohmann::json> PostgresStore::GetControl(const std::string& migration) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("SELECT control FROM " + T("migration_controls") +
                                               " WHERE migration = $1",
                                           {migration}));
  if (r.rows() == 0) return nlohmann::json::object();
  return StoredJsonObject(r.Get(0, "control"));
}

Result<std::map<std::string, nlohmann::json>> PostgresStore::AllControls() {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r,
                   QueryLocked("SELECT migration, control FROM " + T("migration_controls"), {}));
  std::map<std::string, nlohmann::json> out;
  for (int i = 0; i < r.rows(); ++i)
    out[r.Get(i, "migration")] = StoredJsonObject(r.Get(i, "control"));
  return out;
}

Result<std::optional<nlohmann::json>> PostgresStore::UpdateControlOn(PgConnection& c,
                                                                     const std::string& migration,
                                                                     const ControlUpdate& update,
                                                                     double now) {
  // The row exists (empty) before it is locked, so two servers merging into a new control
  // object both wait on the one row.
  RETURN_IF_ERROR(c.Exec("INSERT INTO " + T("migration_controls") +
                             "(migration, control, updated_at) VALUES ($1, '{}', $2) "
                             "ON CONFLICT (migration) DO NOTHING",
                         {migration, Float8(now)}));
  ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT control FROM " + T("migration_controls") +
                                           " WHERE migration = $1 FOR UPDATE",
                                       {migration}));
  nlohmann::json control =
      r.rows() == 1 ? StoredJsonObject(r.Get(0, "control")) : nlohmann::json::object();
  if (!update(control)) return std::optional<nlohmann::json>();
  if (!control.is_object()) control = nlohmann::json::object();
  RETURN_IF_ERROR(c.Exec("UPDATE " + T("migration_controls") +
                             " SET control = $2, updated_at = $3 WHERE migration = $1",
                         {migration, control.dump(), Float8(now)}));
  return std::optional<nlohmann::json>(control);
}

Result<nlohmann::json> PostgresStore::MergeControlOn(PgConnection& c, const std::string& migration,
                                                     const nlohmann::json& patch, double now) {
  ASSIGN_OR_RETURN(auto control, UpdateControlOn(c, migration, MergingPatch(patch), now));
  return *control;
}

Result<nlohmann::json> PostgresStore::MergeControl(const std::string& migration,
                                                   const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  nlohmann::json control;
  RETURN_IF_ERROR(InTxnLocked([&](PgConnection& c) -> Status {
    ASSIGN_OR_RETURN(control, MergeControlOn(c, migration, patch, now));
    return Status::Ok();
  }));
  return control;
}

Result<std::optional<nlohmann::json>> PostgresStore::UpdateControl(const std::string& migration,
                                                                   const ControlUpdate& update,
                                                                   double now) {
  std::lock_guard<std::mutex> l(mu_);
  std::optional<nlohmann::json> control;
  RETURN_IF_ERROR(InTxnLocked([&](PgConnection& c) -> Status {
    ASSIGN_OR_RETURN(control, UpdateControlOn(c, migration, update, now));
    return Status::Ok();
  }));
  return control;
}

Status PostgresStore::CreateCampaign(const CampaignRecord& c, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r,
                   QueryLocked("INSERT INTO " + T("campaigns") + "(" + kCampaignColumns +
                                   ") VALUES ($1, $2, $3, $4, $4) "
                                   "ON CONFLICT (name) DO NOTHING RETURNING name",
                               {c.name, c.team, c.document.dump(), Float8(now)}));
  if (r.rows() == 0) return AlreadyExists("a campaign named '" + c.name + "' already exists");
  return Status::Ok();
}

Result<CampaignRecord> PostgresStore::GetCampaign(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked(std::string("SELECT ") + kCampaignColumns + " FROM " +
                                               T("campaigns") + " WHERE name = $1",
                                           {name}));
  if (r.rows() == 0) return NotFound("no campaign named '" + name + "'");
  return ReadCampaign(r, 0);
}

Result<std::vector<CampaignRecord>> PostgresStore::ListCampaigns(const std::string& team) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(
      PgResult r,
      QueryLocked(std::string("SELECT ") + kCampaignColumns + " FROM " + T("campaigns") +
                      " WHERE $1 = '' OR team = $1 ORDER BY name COLLATE \"C\"",
                  {team}));
  std::vector<CampaignRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadCampaign(r, i));
  return out;
}

Result<CampaignRecord> PostgresStore::MergeCampaign(const std::string& name,
                                                    const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  CampaignRecord out;
  RETURN_IF_ERROR(InTxnLocked([&](PgConnection& c) -> Status {
    ASSIGN_OR_RETURN(PgResult r, c.Query(std::string("SELECT ") + kCampaignColumns + " FROM " +
                                             T("campaigns") + " WHERE name = $1 FOR UPDATE",
                                         {name}));
    if (r.rows() == 0) return NotFound("no campaign named '" + name + "'");
    out = ReadCampaign(r, 0);
    out.document.merge_patch(patch);
    if (!out.document.is_object()) out.document = nlohmann::json::object();
    out.updated_at = now;
    return c.Exec(
        "UPDATE " + T("campaigns") + " SET document = $2, updated_at = $3 WHERE name = $1",
        {name, out.document.dump(), Float8(now)});
  }));
  return out;
}

}  // namespace pgshift
