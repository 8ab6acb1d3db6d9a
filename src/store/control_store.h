// ControlStore: what the control plane (`pgshift server`) keeps besides the migrations
// themselves: registered clusters, API tokens, the audit log, migration notes and a small
// per-migration control object, and campaigns. It sits beside MigrationStore; SqliteStore and
// MemoryStore implement both (a PostgreSQL store can implement it later: every operation is one row
// read or written, with no transaction spanning calls).
//
// Secrets: nothing here holds one. A cluster's registration keeps secret *references*
// ({"file":PATH} or {"env":NAME}); a token is kept as the hex SHA-256 of its text.
//
// Migration notes are event rows that are not phase changes ("window ended without green
// gates"); the server shows them among the migration's events, in time order. The control
// object is JSON the server owns (owning cluster, team, started-by-server flag, arm state,
// approval); MergeControl applies an RFC 7386 merge patch, so two writers of different keys
// do not undo each other.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift {

struct ClusterRecord {
  std::string name;
  std::string team;
  nlohmann::json labels = nlohmann::json::object();        // string -> string
  nlohmann::json registration = nlohmann::json::object();  // source/target/proxies, references only
  double created_at = 0;
};

struct ApiTokenRecord {
  std::string sha256_hex;  // of the token's text; the text itself is never stored
  std::string team;
  bool platform = false;
  std::string label;
  double created_at = 0;
};

struct AuditEntry {
  int64_t id = 0;
  double at = 0;
  std::string identity;  // "token:LABEL", "cert:CN", "anonymous"
  std::string team;      // the caller's team ("" when unauthenticated)
  std::string action;    // "POST /v1/clusters", "migration.start", ...
  std::string target;    // "cluster/orders", "migration/orders-1", ""
  std::string result;    // "ok" or the error code
  int status = 0;        // the HTTP status answered
};

// A campaign (src/scheduler/campaign.h): its owning team and one JSON document (definition
// and state) that the scheduler reads and writes; the store does not interpret it.
struct CampaignRecord {
  std::string name;
  std::string team;
  nlohmann::json document = nlohmann::json::object();
  double created_at = 0;
  double updated_at = 0;
};

struct MigrationNote {
  int64_t id = 0;
  double at = 0;
  std::string text;
};

class ControlStore {
 public:
  virtual ~ControlStore() = default;

  // kAlreadyExists when a cluster of that name exists (whatever its team).
  virtual Status CreateCluster(const ClusterRecord& cluster, double now) = 0;
  // kNotFound naming the cluster.
  virtual Result<ClusterRecord> GetCluster(const std::string& name) = 0;
  // By name; only `team`'s when it is not empty.
  virtual Result<std::vector<ClusterRecord>> ListClusters(const std::string& team) = 0;

  // kAlreadyExists for a hash already stored.
  virtual Status AddToken(const ApiTokenRecord& token, double now) = 0;
  // kNotFound when no token has this hash. The caller compares the hash it gets back in
  // constant time before it believes it.
  virtual Result<ApiTokenRecord> FindToken(const std::string& sha256_hex) = 0;

  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  // Newest first, at most `limit`; only `team`'s entries when `team` is not empty.
  virtual Result<std::vector<AuditEntry>> ListAudit(int limit, const std::string& team) = 0;

  // Notes of a migration (no check that it exists), in the order written.
  virtual Status AppendNote(const std::string& migration, const std::string& text, double now) = 0;
  virtual Result<std::vector<MigrationNote>> Notes(const std::string& migration) = 0;

  // The control object of a migration ({} when none was written).
  virtual Result<nlohmann::json> GetControl(const std::string& migration) = 0;
  // Every migration's control object, by migration name (for list filters).
  virtual Result<std::map<std::string, nlohmann::json>> AllControls() = 0;
  // Merges `patch` (RFC 7386) into the control object of `migration` and returns the result.
  virtual Result<nlohmann::json> MergeControl(const std::string& migration,
                                              const nlohmann::json& patch, double now) = 0;

  // Campaigns. kAlreadyExists when one of that name exists (whatever its team).
  virtual Status CreateCampaign(const CampaignRecord& campaign, double now) = 0;
  // kNotFound naming the campaign.
  virtual Result<CampaignRecord> GetCampaign(const std::string& name) = 0;
  // By name; only `team`'s when it is not empty.
  virtual Result<std::vector<CampaignRecord>> ListCampaigns(const std::string& team) = 0;
  // Merges `patch` (RFC 7386) into the campaign's document in one transaction and returns the
  // record after it. kNotFound naming the campaign.
  virtual Result<CampaignRecord> MergeCampaign(const std::string& name, const nlohmann::json& patch,
                                               double now) = 0;
};

}  // namespace pgshift
