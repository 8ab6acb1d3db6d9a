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
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "migration/phase.h"

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

// One migration as an admission decision sees the fleet inside the store's admission
// transaction: its phase, whether a rollback was asked for, and its control object ({} when
// none was written).
struct FleetMember {
  std::string name;
  Phase phase = Phase::kCreated;
  bool rollback_requested = false;
  nlohmann::json control = nlohmann::json::object();
};

// Given the whole fleet (every migration, in creation order) as the store holds it under the
// admission lock: the patch to merge into the candidate's control object when it is admitted,
// or null when it is refused (nothing is written). It must not call the store (the store is
// inside its transaction) and should be quick: every other admission waits on it.
// See ControlStore::UpdateControl. It must not call the store.
using ControlUpdate = std::function<bool(nlohmann::json& control)>;

// MergeControl's update: merge `patch` (RFC 7386) and write.
inline ControlUpdate MergingPatch(const nlohmann::json& patch) {
  return [&patch](nlohmann::json& control) {
    control.merge_patch(patch);
    return true;
  };
}

using AdmissionDecision = std::function<nlohmann::json(const std::vector<FleetMember>& fleet)>;

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
  // Changes the control object of `migration` in place in one transaction holding its row:
  // `update` gets the object as stored now and returns whether to write it. A compare-and-set
  // for writers that must not act on what an earlier read showed (the arming ticker consumes
  // an arm only if it is still the one it judged; a disarm takes back only an arm in force).
  // Returns the object after the write, or nullopt when `update` declined (nothing written).
  virtual Result<std::optional<nlohmann::json>> UpdateControl(const std::string& migration,
                                                              const ControlUpdate& update,
                                                              double now) = 0;

  // Admission as one conditional write (issue 13): under one fleet-wide lock (PostgreSQL: a
  // transaction-scoped advisory lock on the schema; SQLite: its write transaction; memory: its
  // mutex) reads every migration with its control object, asks `decide`, and merges the patch
  // it returns into `migration`'s control object before the lock is let go. So two servers
  // admitting at the same instant decide one after the other, the second seeing the first's
  // admission, and no limit is exceeded. Returns the control object after the write, or
  // nullopt when `decide` refused. Holding the lock costs every other admission, not the
  // migrations' own writes (which never take it).
  virtual Result<std::optional<nlohmann::json>> AdmitUnderFleetLock(const std::string& migration,
                                                                    const AdmissionDecision& decide,
                                                                    double now) = 0;

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
