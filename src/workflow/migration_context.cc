// Loading, connections and transitions for steps.
#include "workflow/migration_context.h"

#include <signal.h>

#include <cstdlib>

#include "common/log.h"
#include "workflow/lease_checked_platform.h"
#include "workflow/lease_checked_router.h"

namespace pgshift {
namespace {

// Fault injection for the kill -9 matrix: PGSHIFT_CRASH_AFTER=<phase name> makes the process
// SIGKILL itself right after the move into that phase is durable, before its step acts.
void MaybeCrashAfter(Phase to) {
  const char* at = std::getenv("PGSHIFT_CRASH_AFTER");
  if (at && PhaseName(to) == at) raise(SIGKILL);
}

}  // namespace

MigrationContext::MigrationContext(MigrationStore& store, std::string name, Clock& clock,
                                   ProgressSink& progress)
    : store_(store),
      name_(std::move(name)),
      clock_(clock),
      progress_(progress),
      gate_(store_, name_),
      pause_lease_(clock_) {}

Status MigrationContext::Load() {
  ASSIGN_OR_RETURN(record_, store_.Get(name_));
  phase_ = record_.phase;
  gate_.set_phase(phase_);
  auto facts = MigrationFacts::FromJson(record_.data);
  if (!facts.ok()) return facts.status().Context("migration '" + name_ + "'");
  facts_ = std::move(facts).value();
  if (!platform_) {
    ASSIGN_OR_RETURN(spec_, MigrationSpec::FromJson(record_.spec));
    // The stored spec may hold password references (a migration made by the server): the
    // passwords are read now, into this context only, never written back.
    RETURN_IF_ERROR(ResolvePasswords(spec_));
    std::unique_ptr<Platform> platform;
    if (spec_.platform == "local") {
      platform =
          MakeLocalPlatform(spec_.source_data_dir, spec_.target_dir, spec_.source.Get("password"));
    } else {
      platform = MakeExternalPlatform();
    }
    std::unique_ptr<Router> router;
    if (router_factory_) {
      ASSIGN_OR_RETURN(router, router_factory_(spec_));
    } else {
      ASSIGN_OR_RETURN(RouterSpec routing, RouterSpec::FromJson(spec_.router));
      ASSIGN_OR_RETURN(router, MakeRouter(routing));
    }
    platform_ = std::make_unique<LeaseCheckedPlatform>(std::move(platform), gate_);
    router_ = std::make_unique<PauseLeaseRouter>(
        std::make_unique<LeaseCheckedRouter>(std::move(router), gate_), pause_lease_, clock_);
  }
  return Status::Ok();
}

Result<PgConnection*> MigrationContext::Open(std::optional<PgConnection>& slot,
                                             const ConnInfo& info) {
  if (slot && PQstatus(slot->raw()) == CONNECTION_OK) return &*slot;
  slot.reset();
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(info.With("application_name", "pgshift")));
  // pgshift's own session must keep working on a fenced (read-only) source.
  (void)c.Exec("SET default_transaction_read_only = off");
  slot.emplace(std::move(c));
  return &*slot;
}

Result<PgConnection*> MigrationContext::Source() {
  RETURN_IF_ERROR(gate_.Check("SQL on the source"));
  return Open(source_, spec_.source);
}

Result<PgConnection*> MigrationContext::Target() {
  RETURN_IF_ERROR(gate_.Check("SQL on the target"));
  return Open(target_, spec_.target);
}

Result<PgConnection*> MigrationContext::TargetDb(const std::string& dbname) {
  if (dbname.empty()) return Target();
  RETURN_IF_ERROR(gate_.Check("SQL on the target's database " + dbname));
  return Open(target_dbs_[dbname], spec_.target.With("dbname", dbname));
}

namespace {
void AddPid(std::set<int>& pids, const PgConnection& c) {
  if (c.BackendPid() > 0) pids.insert(c.BackendPid());
}
}  // namespace

std::set<int> MigrationContext::OwnSourcePids() const {
  std::set<int> pids;
  if (source_) AddPid(pids, *source_);
  return pids;
}

std::set<int> MigrationContext::OwnTargetPids() const {
  std::set<int> pids;
  if (target_) AddPid(pids, *target_);
  for (const auto& [name, c] : target_dbs_) {
    if (c) AddPid(pids, *c);
  }
  for (const HeldSnapshot& h : held_snapshots_) AddPid(pids, h.connection);
  return pids;
}

void MigrationContext::DropConnections() {
  source_.reset();
  target_.reset();
  target_dbs_.clear();
}

Status MigrationContext::Transition(Phase from, Phase to, const std::string& reason,
                                    const FactsChange& change) {
  if (!IsLegalTransition(from, to)) {
    return Internal("migration '" + name_ + "': illegal transition " +
                    std::string(PhaseName(from)) + " -> " + std::string(PhaseName(to)));
  }
  MigrationFacts next = facts_;
  if (change) change(next);
  next.phase_started[to] = clock_.WallSeconds();
  RETURN_IF_ERROR(store_.ApplyTransition(name_, lease_, from, to, reason,
                                         next.MergePatchFrom(record_.data), clock_.WallSeconds()));
  spdlog::info("migration {}: {} -> {}: {}", name_, PhaseName(from), PhaseName(to), reason);
  progress_.Transition(from, to, reason);
  MaybeCrashAfter(to);
  return Load();
}

Status MigrationContext::Record(const FactsChange& change) {
  MigrationFacts next = facts_;
  change(next);
  RETURN_IF_ERROR(store_.MergeData(name_, lease_, phase_, next.MergePatchFrom(record_.data),
                                   clock_.WallSeconds()));
  return Load();
}

}  // namespace pgshift
