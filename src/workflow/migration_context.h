// MigrationContext: what a step works with. It holds the migration's current record (re-read
// after every transition), lazily opened connections to source and target (reopened when they
// die), the platform and the router, and the one Transition() that moves the phase.
//
// Every action a step takes on a cluster or a proxy passes the runner lease check first
// (LeaseGate, I7): platform() and router() are lease-checked decorators of the real ones, and
// Source()/Target()/TargetDb() check the lease before they hand out a connection (SQL a step
// sends goes through one of them), so a runner that lost its lease between two actions of one
// step takes no further action: the call answers kAborted "lease lost" and the step stops.
//
// The router a step is handed also reports every pause, renewal and resume to the context's
// PauseLease (pause_lease.h), so that the engine and the steps know whether the sessions are
// still held (a failed renewal, or a frozen process, loses the pause).
#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "migration/migration_facts.h"
#include "migration/migration_spec.h"
#include "migration/phase.h"
#include "pg/connection.h"
#include "platform/platform.h"
#include "store/migration_store.h"
#include "workflow/data_verification.h"
#include "workflow/lease_gate.h"
#include "workflow/pause_lease.h"
#include "workflow/progress.h"
#include "workflow/router.h"

namespace pgshift {

class MigrationContext {
 public:
  MigrationContext(MigrationStore& store, std::string name, Clock& clock, ProgressSink& progress);

  // How the router is built from the spec (MakeRouter unless a test gives a fake); set before
  // the first Load().
  using RouterFactory = std::function<Result<std::unique_ptr<Router>>(const MigrationSpec&)>;
  void set_router_factory(RouterFactory f) { router_factory_ = std::move(f); }
  // The runner lease every write of this context carries (I7). Set by the engine.
  void set_lease(RunnerLease lease) {
    gate_.set_lease(lease);
    lease_ = std::move(lease);
  }
  // The check every action of a step passes first.
  const LeaseGate& lease_gate() const { return gate_; }
  const RunnerLease& lease() const { return lease_; }

  // Re-reads the record and decodes its facts (an error naming the key when they are
  // malformed); builds spec, platform and router on first use.
  Status Load();

  const MigrationRecord& record() const { return record_; }
  const MigrationSpec& spec() const { return spec_; }
  // What the migration remembers (typed; the record's data decoded), as of the last Load().
  const MigrationFacts& facts() const { return facts_; }
  Phase phase() const { return phase_; }
  Clock& clock() { return clock_; }
  ProgressSink& progress() { return progress_; }
  Platform& platform() { return *platform_; }
  Router& router() { return *router_; }
  // Whether the routers' pause is confirmed now (fed by router()'s pauses, renewals, resumes).
  PauseLease& pause_lease() { return pause_lease_; }
  MigrationStore& store() { return store_; }

  // Connections as the orchestrator (application_name pgshift*), reopened when dead; each call
  // checks the runner lease first (kAborted "lease lost" naming the phase).
  Result<PgConnection*> Source();
  Result<PgConnection*> Target();
  // The target's database `dbname` ("" is Target()); kept across the promotion, so that a
  // connection opened before the held window serves inside it.
  Result<PgConnection*> TargetDb(const std::string& dbname);
  void DropConnections();
  // Backend pids (PQbackendPID) of this context's open sessions on the source, or on the
  // target (its databases and held snapshots included): the fence of that node leaves exactly
  // these alive besides the fencing connection (FenceOptions::own_backend_pids).
  std::set<int> OwnSourcePids() const;
  std::set<int> OwnTargetPids() const;

  // A change to the facts: applied to a copy of facts(), persisted as the merge patch between
  // the stored data and the changed facts (only the keys that changed).
  using FactsChange = std::function<void(MigrationFacts&)>;

  // The one way a phase changes: checks the table of legal moves, then moves the phase and
  // writes the event row (and `change`, with phase_started[to]) in one store transaction.
  Status Transition(Phase from, Phase to, const std::string& reason,
                    const FactsChange& change = nullptr);
  // Records what a step learned or intends, without moving the phase.
  Status Record(const FactsChange& change);

  // Snapshots of the promoted target held open for verification (lost on a restart).
  std::vector<HeldSnapshot>& held_snapshots() { return held_snapshots_; }
  // The routers' switch to the target, started in the background at promotion and joined by
  // the switch step (lost on a restart: the switch step then switches itself).
  std::optional<std::future<Status>>& early_switch() { return early_switch_; }
  // The quiesce step wrote the source's read-only layer while the pause drained (lost on a
  // restart: the fence then writes it itself).
  bool& read_only_staged() { return read_only_staged_; }

 private:
  Result<PgConnection*> Open(std::optional<PgConnection>& slot, const ConnInfo& info);
  MigrationStore& store_;
  std::string name_;
  Clock& clock_;
  ProgressSink& progress_;
  RouterFactory router_factory_;
  RunnerLease lease_;
  LeaseGate gate_;
  MigrationRecord record_;
  MigrationFacts facts_;
  MigrationSpec spec_;
  Phase phase_ = Phase::kCreated;
  std::unique_ptr<Platform> platform_;
  PauseLease pause_lease_;  // before router_, which reports to it
  std::unique_ptr<Router> router_;
  std::optional<PgConnection> source_;
  std::optional<PgConnection> target_;
  std::map<std::string, std::optional<PgConnection>> target_dbs_;
  std::vector<HeldSnapshot> held_snapshots_;
  std::optional<std::future<Status>> early_switch_;
  bool read_only_staged_ = false;
};

}  // namespace pgshift
