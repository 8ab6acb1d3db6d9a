// Platform: how pgshift fences, unfences and promotes a node, and (where it can) rewinds the node
// whose data directory it manages (the source) to follow another primary. Actions are named for
// what they do to the node they are given, not for its role in the migration: a rollback fences
// the promoted target and promotes the old source with the same calls. Two kinds:
//   local    both clusters are LocalInstances on this host: pgshift edits pg_hba.conf and
//            runs pg_ctl / pg_rewind itself;
//   external the operator's own clusters: SQL (and the replication protocol) only, plus the
//            operator's optional fence / unfence commands (a security-group change, a firewall).
// Every operation is idempotent and keeps its state in the server or its data directory, so an
// orchestrator restarted after kill -9 can finish or undo what the previous one started.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "platform/target_fence.h"

namespace pgshift {

struct FenceOptions {
  std::string orchestrator_user;              // role of pgshift's own connection: still allowed in
  std::chrono::milliseconds deadline{10000};  // whole fence must hold within this, else error
  std::optional<std::string> fence_command;   // external platform: operator's fence, run via sh -c
  std::optional<std::string> unfence_command;
  // Backend pids a paused pgshift proxy holds (Router::HeldBackends): not terminated while
  // idle, see backend_termination.h. Empty: every client backend is terminated.
  std::set<int> held_by_router;
  // Backend pids of pgshift's other sessions on this node (PQbackendPID): never terminated. The
  // fencing connection itself is always kept. Exemption is by pid only: an application_name
  // (e.g. "pgshift...") is set by whoever connects and proves nothing.
  std::set<int> own_backend_pids;
  // Refuse to fence, with nothing blocking connections, while prepared transactions exist
  // (PostgreSQL 15 runs COMMIT PREPARED on a read-only server). Off only where a commit after
  // the fence loses nothing that matters: a rollback fencing the target it abandons.
  bool prepared_need_block = true;
  // The read-only layer's ALTER SYSTEM was already written on this node by StageReadOnlyFence
  // (source_fence.h) in this process: the fence only reloads to put it in force (and checks
  // that it is, as always).
  bool read_only_staged = false;
};

struct FenceReport {
  int terminated_backends = 0;
  int held_by_router = 0;                   // idle backends left to the paused proxy
  int remaining_backends = 0;               // client backends still alive (0 when the fence holds)
  int prepared_transactions = 0;            // they survive (in WAL, carried to the target)
  std::vector<std::string> layers;          // which layers were applied, in order, for the report
  std::map<std::string, int64_t> layer_ms;  // how long each took: the fence holds traffic
};

class Platform {
 public:
  virtual ~Platform() = default;
  virtual std::string_view kind() const = 0;  // "local" or "external"

  // Idempotent: applies every fence layer not yet in force on `node`, then verifies that no
  // client backend other than pgshift's own is left and read-only holds. Returns
  // kDeadlineExceeded (with what is still alive) if it cannot hold within options.deadline; the
  // CALLER then calls Unfence. `node` must be a connection as options.orchestrator_user; this
  // session turns read-only off for itself so that it keeps working. The local platform fences
  // only the node whose data directory it manages (the source: pg_hba.conf is edited by path).
  virtual Result<FenceReport> Fence(PgConnection& node, const FenceOptions& options,
                                    Clock& clock) = 0;
  // Idempotent: undoes every layer (also after a crash mid-fence): `node` writable again.
  virtual Status Unfence(PgConnection& node, const FenceOptions& options) = 0;

  // Idempotent: promotes `node` (if still in recovery) and polls pg_is_in_recovery() every
  // few ms until false. Returns how long it took (zero when already promoted).
  virtual Result<std::chrono::milliseconds> Promote(PgConnection& node,
                                                    std::chrono::milliseconds timeout,
                                                    Clock& clock) = 0;

  // Rollback after promotion without losing the target's writes: make the node whose data
  // directory this platform manages (the old source) follow `primary` (pg_rewind +
  // standby.signal + primary_conninfo), start it, and wait until it streams.
  // kFailedPrecondition on platforms that cannot (external: CanRewind() is false).
  virtual bool CanRewind() const = 0;
  virtual Status RewindToFollow(const ConnInfo& primary, Clock& clock) = 0;

  // The target fence (target_fence.h, DESIGN.md I8), set on the standby before its promotion
  // and lifted once its logical slots exist. Idempotent. `target` must be a connection as
  // options.orchestrator_user to the target (local: the server in the target's data
  // directory, whose pg_hba.conf is edited by path).
  virtual Status FenceTarget(PgConnection& target, const TargetFenceOptions& options,
                             Clock& clock) = 0;
  // Idempotent, also after a crash mid-fence. `keep_read_only`: lift every layer but
  // default_transaction_read_only (a rollback that fences the abandoned target keeps it).
  virtual Status UnfenceTarget(PgConnection& target, const TargetFenceOptions& options,
                               bool keep_read_only) = 0;
};

// local: both clusters are LocalInstances on this host. The directories are checked when an
// operation needs them (errors name the directory), not here.
std::unique_ptr<Platform> MakeLocalPlatform(std::string source_data_dir,
                                            std::string target_data_dir,
                                            std::string superuser_password);
// external: SQL only, plus FenceOptions::fence_command / unfence_command when configured.
std::unique_ptr<Platform> MakeExternalPlatform();

}  // namespace pgshift
