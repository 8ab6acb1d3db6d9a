// The target fence (DESIGN.md I8): from before the promotion until its logical slots exist, no
// client may commit on the target, or a CDC consumer misses those rows (they are on neither
// the old source's slot nor the new one). Layers, all set while the target is still a standby
// (they take effect at the promotion, with no work inside it):
//   read-only  ALTER SYSTEM default_transaction_read_only = on, plus the marker
//              pgshift.target_fence = 'on' that tells a pgshift proxy its logins to this server
//              may turn read-only off for themselves (a source fence never sets the marker, so
//              the proxy cannot write through that one);
//   pg_hba     local platform: only replication, the orchestrator role and the proxies' backend
//              roles may connect (every other role is refused);
//   command    external platform: the operator's optional target fence command;
//   sessions   client backends of roles not admitted are terminated (a session opened before
//              the fence, e.g. one that turned read-only off for itself, cannot wait for the
//              promotion).
// Lifted once the slots exist, after the proxies resumed (outside the held window). Every
// operation is idempotent and its state lives in the server (postgresql.auto.conf) or its data
// directory, so a restarted orchestrator can lift what a killed one set.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

// The placeholder parameter a pgshift proxy reads after a login to a read-only server.
inline constexpr const char* kTargetFenceMarker = "pgshift.target_fence";

struct TargetFenceOptions {
  std::string orchestrator_user;             // admitted: pgshift's own connections
  std::vector<std::string> admitted_roles;   // admitted: the proxies' backend roles
  std::set<int> own_backend_pids;            // never terminated
  std::optional<std::string> fence_command;  // external platform: operator's, via sh -c
  std::optional<std::string> unfence_command;
  std::chrono::milliseconds deadline{10000};
};

// The SQL layers (read-only and marker, then the sessions), for every platform.
Status ApplyTargetReadOnly(PgConnection& target, const TargetFenceOptions& options, Clock& clock);
// ALTER SYSTEM RESET of both parameters, reload. With `keep_read_only` only the marker goes
// (a rollback that fences the abandoned target keeps its read-only layer).
Status LiftTargetReadOnly(PgConnection& node, bool keep_read_only = false);
// True when `node` carries the marker (what new sessions get).
Result<bool> TargetFenceMarked(PgConnection& node);

}  // namespace pgshift
