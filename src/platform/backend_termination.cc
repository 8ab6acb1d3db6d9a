// Termination loop of the fence: signal, re-list, repeat until the server shows none.
#include "platform/backend_termination.h"

#include <map>
#include <set>

namespace pgshift {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);

// `held`: idle (not in a transaction, not running a statement) and named by the proxy.
// pgshift's own sessions are recognised by pid ($1), never by application_name: a client can
// set any application_name (also through the proxy), so a name proves nothing.
constexpr const char* kForeignBackendsSql =
    "SELECT pid, coalesce(usename, '') AS usename, "
    "coalesce(application_name, '') AS application_name, backend_type, "
    "coalesce(pid = ANY($2::int[]) AND state = 'idle', false) AS held "
    "FROM pg_stat_activity "
    "WHERE (backend_type = 'client backend' OR backend_type IS NULL) "
    "AND pid <> pg_backend_pid() "
    "AND NOT (pid = ANY($1::int[])) "
    "ORDER BY pid";

std::string PgIntArray(const std::set<int>& values) {
  std::string out = "{";
  for (int v : values) out += (out.size() > 1 ? "," : "") + std::to_string(v);
  return out + "}";
}

}  // namespace

Result<ForeignBackends> ForeignClientBackends(PgConnection& conn,
                                              const std::string& orchestrator_user,
                                              const std::set<int>& own, const std::set<int>& held) {
  ASSIGN_OR_RETURN(PgResult r,
                   conn.Query(kForeignBackendsSql, {PgIntArray(own), PgIntArray(held)}));
  ForeignBackends out;
  for (int i = 0; i < r.rows(); ++i) {
    if (r.GetBool(i, "held")) {
      out.held_idle++;
      continue;
    }
    if (!r.GetOpt(i, "backend_type")) {
      return PermissionDenied(conn.info().Label() + ": role '" + orchestrator_user +
                              "' cannot see the type of backend " + r.Get(i, "pid") +
                              "; GRANT pg_read_all_stats to it so the fence sees every session");
    }
    ClientBackend b;
    b.pid = static_cast<int>(r.GetInt(i, "pid"));
    b.user = r.Get(i, "usename");
    b.application_name = r.Get(i, "application_name");
    out.to_end.push_back(std::move(b));
  }
  return out;
}

Result<TerminationOutcome> TerminateForeignBackends(PgConnection& conn,
                                                    const std::string& orchestrator_user,
                                                    const std::set<int>& own,
                                                    const std::set<int>& held,
                                                    const Deadline& deadline, Clock& clock) {
  std::set<int> signalled;
  std::map<int, std::string> refusals;  // pid -> the server's reason
  while (true) {
    ASSIGN_OR_RETURN(ForeignBackends listed,
                     ForeignClientBackends(conn, orchestrator_user, own, held));
    std::vector<ClientBackend>& alive = listed.to_end;
    if (alive.empty()) {
      return TerminationOutcome{static_cast<int>(signalled.size()), listed.held_idle, {}};
    }
    if (deadline.Expired()) {
      for (ClientBackend& b : alive) {
        auto it = refusals.find(b.pid);
        b.refusal =
            it != refusals.end() ? it->second : "signalled but still running (e.g. stuck in I/O)";
      }
      return TerminationOutcome{static_cast<int>(signalled.size()), listed.held_idle,
                                std::move(alive)};
    }
    for (const ClientBackend& b : alive) {
      if (signalled.count(b.pid) || refusals.count(b.pid)) continue;
      // One pid per query: a refusal is an ERROR and must not stop the others.
      auto ok = conn.QueryValue("SELECT pg_terminate_backend($1)", {std::to_string(b.pid)});
      if (!ok.ok()) {
        if (ok.status().code() == Code::kUnavailable) return ok.status();  // our own link broke
        refusals[b.pid] = ok.status().message();
      } else if (*ok == "t") {
        signalled.insert(b.pid);
      }
      // "f": the backend exited between listing and signalling; the next listing shows it.
    }
    clock.SleepFor(kPollInterval);
  }
}

std::string DescribeBackends(const std::vector<ClientBackend>& backends) {
  std::string out;
  for (const ClientBackend& b : backends) {
    if (!out.empty()) out += "; ";
    out += "pid " + std::to_string(b.pid) + " (user " + b.user + ", application '" +
           b.application_name + "'";
    if (!b.refusal.empty()) out += ": " + b.refusal;
    out += ")";
  }
  return out;
}

}  // namespace pgshift
