// The limit checks, in a fixed order (fleet, server, team, source host) so that the reason a
// queued migration gives is stable from one tick to the next.
#include "scheduler/admission.h"

#include <algorithm>
#include <sstream>

namespace pgshift::scheduler {
namespace {

std::string Plural(int n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

bool Contains(const std::vector<RunningMigration>& running, const std::string& name,
              bool in_cutover_only) {
  return std::any_of(running.begin(), running.end(), [&](const RunningMigration& r) {
    return r.name == name && (!in_cutover_only || r.in_cutover);
  });
}

}  // namespace

Admission AdmitStart(const RunningMigration& c, const std::vector<RunningMigration>& running,
                     const Limits& limits) {
  if (Contains(running, c.name, false)) return {true, ""};
  int total = 0, server = 0, team = 0, host = 0;
  for (const RunningMigration& r : running) {
    ++total;
    if (!c.server.empty() && r.server == c.server) ++server;
    if (r.team == c.team) ++team;
    if (!c.source_host.empty() && r.source_host == c.source_host) ++host;
  }
  if (limits.max_running > 0 && total >= limits.max_running) {
    return {false, "the fleet already runs " + Plural(total, "migration") +
                       " (max_running = " + std::to_string(limits.max_running) + ")"};
  }
  if (limits.max_running_per_server > 0 && !c.server.empty() &&
      server >= limits.max_running_per_server) {
    return {false, "server " + c.server + " already runs " + Plural(server, "migration") +
                       " (max_running_per_server = " +
                       std::to_string(limits.max_running_per_server) + ")"};
  }
  if (limits.max_running_per_team > 0 && team >= limits.max_running_per_team) {
    return {false, "team " + c.team + " already runs " + Plural(team, "migration") +
                       " (max_running_per_team = " + std::to_string(limits.max_running_per_team) +
                       ")"};
  }
  if (limits.max_running_per_source_host > 0 && !c.source_host.empty() &&
      host >= limits.max_running_per_source_host) {
    return {false, "source host " + c.source_host + " already serves " + Plural(host, "migration") +
                       " (max_running_per_source_host = " +
                       std::to_string(limits.max_running_per_source_host) + ")"};
  }
  return {true, ""};
}

Admission AdmitCutover(const RunningMigration& c, const std::vector<RunningMigration>& running,
                       const Limits& limits) {
  if (Contains(running, c.name, true)) return {true, ""};
  if (limits.max_cutovers_at_once <= 0) return {true, ""};
  int cutting = 0;
  std::string one;
  for (const RunningMigration& r : running) {
    if (r.in_cutover && r.name != c.name) {
      ++cutting;
      if (one.empty()) one = r.name;
    }
  }
  if (cutting >= limits.max_cutovers_at_once) {
    return {false, Plural(cutting, "cutover") + " already in progress (" + one +
                       (cutting > 1 ? ", ..." : "") + "; max_cutovers_at_once = " +
                       std::to_string(limits.max_cutovers_at_once) + ")"};
  }
  return {true, ""};
}

std::string SourceHostOf(const std::string& conninfo) {
  // URI form: postgresql://user@host:port/db
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    if (conninfo.rfind(scheme, 0) == 0) {
      std::string rest = conninfo.substr(std::string(scheme).size());
      auto at = rest.find('@');
      if (at != std::string::npos && at < rest.find('/')) rest = rest.substr(at + 1);
      std::string h = rest.substr(0, rest.find_first_of(":/?"));
      return h.empty() ? "localhost" : h;
    }
  }
  std::istringstream in(conninfo);
  std::string word;
  std::string host, hostaddr;
  while (in >> word) {
    auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "host") host = value;
    if (key == "hostaddr") hostaddr = value;
  }
  std::string h = host.empty() ? hostaddr : host;
  if (h.empty() || h.front() == '/') return "localhost";  // a socket directory: this host
  return h;
}

}  // namespace pgshift::scheduler
