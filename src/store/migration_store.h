// MigrationStore: the durable state of every migration, behind an interface so that the
// embedded SQLite file (SqliteStore), an in-memory store for unit tests (MemoryStore) and,
// later, a PostgreSQL store for a fleet of orchestrators offer the same contract.
//
// A migration row holds its phase, its spec and the data its steps recorded (a JSON object the
// store merges patches into and otherwise does not read), and operator requests (cutover,
// rollback). Every phase change goes through ApplyTransition, which compares the current phase
// and writes the event row in the same transaction, so two writers racing on one migration
// cannot both move it: the loser gets kAborted and re-reads.
//
// Who drives a migration is a lease the store grants (I7): AcquireRunner hands out a
// RunnerLease whose fencing token grows on every new grant, and every write a step makes
// (ApplyTransition, MergeData) carries the lease and succeeds only while its token is still
// the current one, checked in the same transaction as the write. A lease whose TTL lapsed may
// be taken over; so may one whose owner the caller names as dead (the store does not judge
// liveness: the engine checks a local pid through its own seam). Operator requests need no
// lease.
//
// Phases are typed at this edge: a stored integer that is not a known Phase is
// kFailedPrecondition naming the migration. Secrets: a spec the CLI recorded holds connection
// strings with their passwords (one the server recorded holds references only, SecretRef); a
// file-backed store is readable by its owner only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "migration/phase.h"

namespace pgshift {

struct MigrationRecord {
  std::string name;
  Phase phase = Phase::kCreated;
  nlohmann::json spec = nlohmann::json::object();
  nlohmann::json data = nlohmann::json::object();
  bool cutover_requested = false;
  bool rollback_requested = false;
  double created_at = 0;
  double updated_at = 0;
};

struct EventRecord {
  int64_t id = 0;
  double at = 0;
  Phase from_phase = Phase::kCreated;
  Phase to_phase = Phase::kCreated;
  std::string reason;
};

// The right to write a migration's steps. `token` identifies this grant: it is larger than
// every token granted before for the same migration.
struct RunnerLease {
  std::string owner;
  int64_t token = 0;
};

// AcquireRunner's answer: either the lease was granted, or someone else holds it (not an
// error: the caller decides whether to wait, follow, or take over a dead holder).
struct LeaseGrant {
  bool acquired = false;
  RunnerLease lease;             // acquired: the grant to pass to every write
  std::string holder;            // !acquired: the current holder's owner string
  double holder_expires_at = 0;  // !acquired: wall seconds when the holder's lease lapses
};

class MigrationStore {
 public:
  virtual ~MigrationStore() = default;

  // kAlreadyExists if a migration of that name exists.
  virtual Status Create(const MigrationRecord& record, double now) = 0;
  // kNotFound naming the migration; kFailedPrecondition for an unknown phase value.
  virtual Result<MigrationRecord> Get(const std::string& name) = 0;
  // In creation order.
  virtual Result<std::vector<MigrationRecord>> List() = 0;
  virtual Result<std::vector<EventRecord>> Events(const std::string& name) = 0;

  // Moves `name` from phase `from` to `to` and merges `data_patch` (RFC 7386) into its data,
  // writing the event row in the same transaction. kAborted "moved on" if the phase is no
  // longer `from`; kAborted "lease lost" if `lease` is no longer the current grant.
  virtual Status ApplyTransition(const std::string& name, const RunnerLease& lease, Phase from,
                                 Phase to, const std::string& reason,
                                 const nlohmann::json& data_patch, double now) = 0;
  // Merges `patch` into the data without changing the phase (a step recording its intent or
  // its result). kAborted if the phase is no longer `expected_phase` or the lease was lost.
  virtual Status MergeData(const std::string& name, const RunnerLease& lease, Phase expected_phase,
                           const nlohmann::json& patch, double now) = 0;

  // Operator requests: no lease; the runner reads them on its next turn. RequestRollback also
  // merges `data_patch` (what the operator chose for the rollback) into the data; it is
  // refused (kFailedPrecondition) once the migration completed, and a pending one refuses the
  // runner's transition to completed (kAborted: the runner re-reads and rolls back), both in
  // the write's own transaction, so a request is never accepted and then lost.
  virtual Status RequestCutover(const std::string& name, double now) = 0;
  virtual Status RequestRollback(const std::string& name, const nlohmann::json& data_patch,
                                 double now) = 0;

  // Grants the runner lease of `name` to `owner` for `ttl` from `now` when it is free,
  // released, expired (at or before `now`), or held by `dead_owner` (a non-empty owner string
  // the caller found dead): with a token larger than any before. `owner`'s own live lease is
  // extended and keeps its token. Otherwise answers who holds it, changing nothing. kNotFound
  // for an unknown migration.
  virtual Result<LeaseGrant> AcquireRunner(const std::string& name, const std::string& owner,
                                           std::chrono::milliseconds ttl, double now,
                                           const std::string& dead_owner) = 0;
  // Extends `lease` to `now + ttl`. kAborted "lease lost" when it is no longer the current
  // grant (taken over; an expired lease nobody took is renewed).
  virtual Status RenewRunner(const std::string& name, const RunnerLease& lease,
                             std::chrono::milliseconds ttl, double now) = 0;
  // Reads the lease without writing: its expiry (wall seconds) while `lease` is the current
  // grant, kAborted "lease lost" otherwise. A runner checks before it acts on a server.
  virtual Result<double> CheckRunner(const std::string& name, const RunnerLease& lease) = 0;
  // Gives the lease up (the next grant gets a larger token). Ok if it was already lost.
  virtual Status ReleaseRunner(const std::string& name, const RunnerLease& lease) = 0;

  // The next route version for `route_key` (the routes of one cluster, e.g. "proxy cluster
  // orders"): 1 for a new key, then larger than every version returned before for that key,
  // also across restarts of the orchestrator. Route versions come from here, never from a
  // clock (one that steps back would hand out a version the proxies refuse). Needs no lease:
  // a version only orders switches, and one drawn but never used leaves a gap that is
  // harmless. kInvalidArgument for an empty key.
  virtual Result<uint64_t> NextRouteVersion(const std::string& route_key) = 0;

  // Where the store lives, for messages ("/var/lib/pgshift.db", "memory").
  virtual std::string Location() const = 0;
};

// For implementations: one lease row and the one rule deciding a grant, so that every store
// decides alike. A released lease has an empty owner and keeps its token.
struct LeaseRow {
  std::string owner;
  int64_t token = 0;
  double expires_at = 0;
};
// The row after a successful AcquireRunner, or the unchanged row when the lease is busy
// (then `granted` is false).
LeaseRow DecideRunnerGrant(const LeaseRow& current, const std::string& owner,
                           std::chrono::milliseconds ttl, double now, const std::string& dead_owner,
                           bool* granted);

// A JSON object a store kept as text (labels, documents, control objects), or an empty object
// when the text is not one: a row another version wrote badly must not stop a reader.
nlohmann::json StoredJsonObject(const std::string& text);

// The messages every implementation gives, so that they read the same.
Status LeaseLost(const std::string& name, const RunnerLease& lease);
Status UnknownPhase(const std::string& name, int64_t value);
Status MovedOn(const std::string& name, Phase actual, Phase expected);

// The one rule every ApplyTransition checks against the row it read in its transaction: the
// phase must still be `from`, and a pending rollback request outranks completion.
Status CheckTransition(const std::string& name, const MigrationRecord& current, Phase from,
                       Phase to);
// The one rule every RequestRollback checks: too late once completed.
Status CheckRollbackRequest(const std::string& name, const MigrationRecord& current);

}  // namespace pgshift
