// PostgresStore: the MigrationStore and the ControlStore in a PostgreSQL database, for several
// orchestrators (pgshift servers) sharing one fleet.
//
// Everything lives in one schema of the database (`pgshift` unless told otherwise, so that two
// fleets can share a database): pgshift_meta (schema_version), migrations, events,
// runner_leases, route_versions, and (version 4) the control plane's clusters, api_tokens,
// audit_log, migration_notes and migration_controls, and (version 5) campaigns. Schema versions are
// numbered as SqliteStore's are (the same number means the same tables), and Open() creates or
// upgrades the schema in one transaction under a transaction-scoped advisory lock, so two servers
// starting at once do not race; a schema from a newer pgshift is refused (kFailedPrecondition) and
// left alone.
//
// Every write a runner makes (ApplyTransition, MergeData) runs in one transaction that first
// locks its lease row (SELECT ... FOR UPDATE) and checks the token, then locks the migration
// row and compares the phase; AcquireRunner locks the same lease row and decides with
// DecideRunnerGrant; renew and release are UPDATEs conditional on owner and token. So a runner
// whose lease was taken over writes nothing, whichever server it runs on. Times are the
// caller's `now`: the database clock decides nothing.
//
// One libpq connection per store, a mutex keeping each operation (and its transaction) whole.
// When the server cannot be reached or the connection breaks, the call answers kUnavailable
// naming host:port (never the password) and the connection is dropped; the next call connects
// anew. A call whose connection broke inside a transaction may or may not have committed: the
// caller re-reads (the engine does). A session left idle inside a transaction (its server
// stopped mid-write) is ended by PostgreSQL after kIdleInTransactionTimeout, so it cannot hold
// a lease row locked against a takeover.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pg/connection.h"
#include "pg/conninfo.h"
#include "store/control_store.h"
#include "store/migration_store.h"

namespace pgshift {

class PostgresStore : public MigrationStore, public ControlStore {
 public:
  static constexpr const char* kDefaultSchema = "pgshift";

  // Connects to `conninfo` (a postgresql:// URI or key=value pairs), creates the schema
  // `schema` if needed and brings it up to date. kInvalidArgument for a malformed conninfo or
  // schema name; kUnavailable when the server cannot be reached (naming host:port);
  // kFailedPrecondition for a schema written by a newer pgshift; the server's own class
  // (kPermissionDenied, kUnauthenticated) otherwise.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& conninfo,
                                                     const std::string& schema = kDefaultSchema);
  ~PostgresStore() override = default;

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
  // The conninfo without its password, and the schema: "host=... port=... (schema pgshift)".
  std::string Location() const override { return location_; }

  // ControlStore (postgres_control_store.cc): each call one statement, or one transaction
  // holding the row it merges (MergeControl), so two servers merging different keys of one
  // control object both keep theirs.
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

  const std::string& schema() const { return schema_; }

  // How long PostgreSQL lets one of the store's sessions sit idle inside a transaction before
  // it ends the session (releasing its row locks): a server stopped mid-write holds up
  // another's takeover at most this long. Well under a runner lease's TTL.
  static constexpr std::chrono::milliseconds kIdleInTransactionTimeout{5000};

  // Tests: called inside ApplyTransition and MergeData once the lease row is locked, as a
  // server paused there would be.
  void SetInsideWriteHookForTest(std::function<void()> hook) {
    inside_write_for_test_ = std::move(hook);
  }

  // The schema version this build writes (the same numbering as SqliteStore's).
  static constexpr int kSchemaVersion = 5;

 private:
  PostgresStore(ConnInfo info, std::string schema);

  // The open connection, connecting if there is none. kUnavailable naming host:port.
  Result<PgConnection*> ConnLocked();
  // Runs `body` in a transaction on the connection; commits when it returns ok, rolls back
  // otherwise. A connection that broke on the way is dropped.
  Status InTxnLocked(const std::function<Status(PgConnection&)>& body);
  // Runs one statement outside a transaction.
  Result<PgResult> QueryLocked(const std::string& sql, const Params& params);
  // Forgets the connection when `st` shows it broke (the next call reconnects); passes `st`.
  Status Checked(const Status& st);
  Status Migrate(PgConnection& c);
  // "<schema>.<table>", quoted.
  std::string T(const char* table) const { return schema_q_ + "." + table; }
  Result<MigrationRecord> GetOn(PgConnection& c, const std::string& name, bool for_update);
  // UpdateControl's read and write inside an open transaction (MergeControl's and admission's
  // merges are updates that always write).
  Result<std::optional<nlohmann::json>> UpdateControlOn(PgConnection& c,
                                                        const std::string& migration,
                                                        const ControlUpdate& update, double now);
  Result<nlohmann::json> MergeControlOn(PgConnection& c, const std::string& migration,
                                        const nlohmann::json& patch, double now);
  Status NoSuchMigration(const std::string& name) const;
  // A double as text that reads back as the same float8.
  static std::string Float8(double v);

  std::mutex mu_;
  ConnInfo info_;
  std::string schema_;
  std::string schema_q_;
  std::string location_;
  std::optional<PgConnection> conn_;
  std::function<void()> inside_write_for_test_;
};

}  // namespace pgshift
