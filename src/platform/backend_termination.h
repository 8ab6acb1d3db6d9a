// Fence layer 3: terminate every client backend that is not pgshift's own, until none is left.
// Walsenders (physical and logical) are kept: standbys and CDC consumers must still receive and
// confirm the final LSN. pgshift's own sessions are this connection plus the backends whose pids
// the orchestrator names (PQbackendPID of its other connections to this node, `own`); an
// application_name is never trusted, since any client can set it. Backends a paused pgshift proxy
// holds (FenceOptions::held_by_router) are left to it while they are idle: the proxy forwards
// nothing to them and closes them once its sessions run on the new primary, so the fence does
// not wait for their processes to exit inside the held window.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

struct ClientBackend {
  int pid = 0;
  std::string user;
  std::string application_name;
  std::string refusal;  // why pg_terminate_backend did not act on it, if it did not
};

struct ForeignBackends {
  std::vector<ClientBackend> to_end;  // not pgshift's own, not left to a proxy
  int held_idle = 0;                  // pids of `held` found idle: left to the proxy
};

// Client backends on the server other than pgshift's own.
// `orchestrator_user` names the role in the errors only; `own` are the pids left alive.
Result<ForeignBackends> ForeignClientBackends(PgConnection& conn,
                                              const std::string& orchestrator_user,
                                              const std::set<int>& own = {},
                                              const std::set<int>& held = {});

struct TerminationOutcome {
  int terminated = 0;                    // distinct pids signalled successfully
  int held_idle = 0;                     // left to the paused proxy (idle, in `held`)
  std::vector<ClientBackend> remaining;  // still alive when the deadline passed
};

// Signals every foreign client backend and re-lists them every few ms until none is left or
// the deadline passes. A backend the role may not terminate (e.g. a superuser's, for a role
// with only pg_signal_backend) is reported in `remaining` with the server's refusal; that is
// not an error here, the caller decides.
Result<TerminationOutcome> TerminateForeignBackends(PgConnection& conn,
                                                    const std::string& orchestrator_user,
                                                    const std::set<int>& own,
                                                    const std::set<int>& held,
                                                    const Deadline& deadline, Clock& clock);

// "pid 123 (user alice, application psql: must be a superuser ...)" for an error message.
std::string DescribeBackends(const std::vector<ClientBackend>& backends);

}  // namespace pgshift
