// SqliteStore: the MigrationStore and the ControlStore in an embedded SQLite file, for one
// orchestrator host (the control plane's half is in sqlite_control_store.cc).
//
// Tables: migrations (one row each), events (one per transition, written in the transition's
// transaction), runner_leases (one per migration that ever had a runner), pgshift_meta
// (schema_version); version 4 adds clusters, api_tokens, audit_log, migration_notes and
// migration_controls; version 5 adds campaigns. Open() migrates older files forward. Every write a
// runner makes runs in a BEGIN IMMEDIATE transaction that first checks the lease token, so a runner
// that lost its lease writes nothing. One connection serves every thread of the process; a mutex
// keeps each operation (and its transaction) whole.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/control_store.h"
#include "store/migration_store.h"

struct sqlite3;

namespace pgshift {

class SqliteStore : public MigrationStore, public ControlStore {
 public:
  // Opens (creating if needed, owner-only) the store at `path` and brings its schema up to
  // date. kInvalidArgument naming the path when it is not a pgshift store, cannot be opened,
  // or comes from a newer pgshift.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  // What the operator should know but that does not stop the store from opening: a file
  // (created by someone else, or chmod-ed since) that group or others may read or write,
  // although it holds connection secrets. Names the file and its mode, never its content.
  const std::vector<std::string>& warnings() const { return warnings_; }

  Status Create(const MigrationRecord& record, double now) override;
  Result<MigrationRecord> Get(const std::string& name) override;
  Result<std::vector<MigrationRecord>> List() override;
  Result<std::vector<EventRecord>> Events(const std::string& name) override;
  Status ApplyTransition(const std::string& name, const RunnerLease& lease, Phase from, Phase to,
                         const std::string& reason, const nlohmann::json& data_patch,
                         double now) override;
  Status MergeData(const std::string& name, const RunnerLease& lease, Phase expected_phase,
                   const nlohmann::json& patch, double now) override;
  Status RequestCutover(const std::string& name, double now) override;
  Status RequestRollback(const std::string& name, const nlohmann::json& data_patch,
                         double now) override;
  Result<LeaseGrant> AcquireRunner(const std::string& name, const std::string& owner,
                                   std::chrono::milliseconds ttl, double now,
                                   const std::string& dead_owner) override;
  Status RenewRunner(const std::string& name, const RunnerLease& lease,
                     std::chrono::milliseconds ttl, double now) override;
  Result<double> CheckRunner(const std::string& name, const RunnerLease& lease) override;
  Status ReleaseRunner(const std::string& name, const RunnerLease& lease) override;
  Result<uint64_t> NextRouteVersion(const std::string& route_key) override;
  std::string Location() const override { return path_; }

  Status CreateCluster(const ClusterRecord& cluster, double now) override;
  Result<ClusterRecord> GetCluster(const std::string& name) override;
  Result<std::vector<ClusterRecord>> ListClusters(const std::string& team) override;
  Status AddToken(const ApiTokenRecord& token, double now) override;
  Result<ApiTokenRecord> FindToken(const std::string& sha256_hex) override;
  Status AppendAudit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> ListAudit(int limit, const std::string& team) override;
  Status AppendNote(const std::string& migration, const std::string& text, double now) override;
  Result<std::vector<MigrationNote>> Notes(const std::string& migration) override;
  Result<nlohmann::json> GetControl(const std::string& migration) override;
  Result<std::map<std::string, nlohmann::json>> AllControls() override;
  Result<nlohmann::json> MergeControl(const std::string& migration, const nlohmann::json& patch,
                                      double now) override;
  Result<std::optional<nlohmann::json>> UpdateControl(const std::string& migration,
                                                      const ControlUpdate& update,
                                                      double now) override;
  Status CreateCampaign(const CampaignRecord& campaign, double now) override;
  Result<CampaignRecord> GetCampaign(const std::string& name) override;
  Result<std::vector<CampaignRecord>> ListCampaigns(const std::string& team) override;
  Result<CampaignRecord> MergeCampaign(const std::string& name, const nlohmann::json& patch,
                                       double now) override;
  // fleet_admission files: admission under one fleet-wide lock.
  Result<std::optional<nlohmann::json>> AdmitUnderFleetLock(const std::string& migration,
                                                            const AdmissionDecision& decide,
                                                            double now) override;

  // The schema version this build writes.
  static constexpr int kSchemaVersion = 5;

 private:
  // MergeControl's write inside the open write transaction (admission merges its decision the
  // same way). Holds mu_.
  Result<nlohmann::json> MergeControlLocked(const std::string& migration,
                                            const nlohmann::json& patch, double now);
  // UpdateControl's read and write inside the open write transaction. Holds mu_.
  Result<std::optional<nlohmann::json>> UpdateControlLocked(const std::string& migration,
                                                            const ControlUpdate& update,
                                                            double now);
  std::vector<std::string> warnings_;
  SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Exec(const std::string& sql);
  Status Migrate();
  Result<MigrationRecord> GetLocked(const std::string& name);
  Result<LeaseRow> LeaseLocked(const std::string& name);
  Status PutLeaseLocked(const std::string& name, const LeaseRow& row);
  // Within a transaction: ok when `lease` is the current grant for `name`.
  Status CheckLeaseLocked(const std::string& name, const RunnerLease& lease);
  Status WriteDataLocked(const std::string& name, const nlohmann::json& data, const char* extra_set,
                         double now);
  Status Unavailable(const std::string& what) const;

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace pgshift
