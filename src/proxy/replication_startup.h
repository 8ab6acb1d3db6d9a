// Replication connections through the proxy: which kind a client's startup packet asks for
// (its `replication` parameter, read as PostgreSQL reads it), and the rules the proxy
// applies to the ones it serves.
//
// Logical replication (`replication=database`: pg_recvlogical, logical replication
// subscribers, Debezium and other CDC consumers) is admitted under the same identity rules
// as any session, only for identities with `replication = on` (admission.h), and forwarded
// byte for byte (IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT,
// START_REPLICATION, then CopyBoth). Such a session is never held by a pause and never moved
// by a switch: it stays on the server it logged in to until that server ends it. That is
// what the cutover needs. The orchestrator waits for each consumer to confirm the CDC fence
// point on the old source and only then drops the old slots, which ends their walsenders; a
// consumer thus drains its old slot up to the fence point, reconnects, and is routed by the
// current route to the new primary, where its slot starts at the fence point: no gap and no
// duplicate. Moving it earlier would skip what the old slot had not yet sent; holding it in
// a pause would wedge the pause, since a streaming walsender is never between transactions.
//
// Physical replication (`replication=true`) is refused: a standby or pg_basebackup must
// talk to the real server, whose identity and timeline it tracks.
#pragma once

#include <map>
#include <string>

#include "common/status.h"

namespace pgshift::proxy {

enum class ReplicationMode { kNone, kLogical, kPhysical };

// The mode asked for by startup parameters; kInvalidArgument for a value PostgreSQL would
// refuse too (it accepts "database" or a boolean: on/off, true/false, yes/no, 1/0 and their
// unambiguous prefixes, any case).
Result<ReplicationMode> ReplicationModeOf(const std::map<std::string, std::string>& params);

// Why the proxy refuses `mode`, or an empty string when it serves it.
std::string ReplicationRefusal(ReplicationMode mode);

}  // namespace pgshift::proxy
