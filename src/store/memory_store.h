// MemoryStore: the MigrationStore and ControlStore contracts held in memory, for unit tests
// of the workflow and the server (no file, no SQLite). Same semantics as SqliteStore:
// compare-and-set transitions, events in the same step, the lease rule of DecideRunnerGrant,
// unknown phase values refused at the edge. Thread-safe. Lost with the process.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/control_store.h"
#include "store/migration_store.h"

namespace pgshift {

class MemoryStore : public MigrationStore, public ControlStore {
 public:
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
  std::string Location() const override { return "memory"; }

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

  // Tests: stores a raw phase value, as a newer pgshift could have written it.
  void SetRawPhaseForTest(const std::string& name, int value);

 private:
  // Phases are kept as the integers a file would hold, so that the edge check is the same.
  struct Row {
    MigrationRecord record;  // record.phase unused; see phase
    int phase = 0;
    LeaseRow lease;
    std::vector<EventRecord> events;
  };
  Result<Row*> Find(const std::string& name);
  Result<MigrationRecord> Read(const Row& row) const;
  Status CheckLease(const std::string& name, const Row& row, const RunnerLease& lease) const;

  std::mutex mu_;
  std::map<std::string, Row> rows_;
  std::vector<std::string> order_;  // creation order, for List
  int64_t next_event_id_ = 1;
  std::map<std::string, uint64_t> route_versions_;  // route key -> last version handed out
  std::map<std::string, ClusterRecord> clusters_;
  std::map<std::string, ApiTokenRecord> tokens_;  // by hash
  std::vector<AuditEntry> audit_;
  std::map<std::string, std::vector<MigrationNote>> notes_;
  std::map<std::string, nlohmann::json> controls_;
  std::map<std::string, CampaignRecord> campaigns_;
  int64_t next_audit_id_ = 1;
  int64_t next_note_id_ = 1;
};

}  // namespace pgshift
