// The target fence's SQL layers, shared by both platforms.
#include "platform/target_fence.h"

#include <nlohmann/json.hpp>

#include "platform/read_only_fence.h"

namespace pgshift {
namespace {

Status Reload(PgConnection& conn, const std::string& what) {
  auto r = conn.QueryValue("SELECT pg_reload_conf()");
  if (!r.ok()) return r.status().Context(what + ": reload configuration");
  return Status::Ok();
}

std::string JsonArray(const std::set<std::string>& items) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& i : items) a.push_back(i);
  return a.dump();
}

std::string JsonArray(const std::set<int>& items) {
  nlohmann::json a = nlohmann::json::array();
  for (int i : items) a.push_back(i);
  return a.dump();
}

}  // namespace

Status ApplyTargetReadOnly(PgConnection& target, const TargetFenceOptions& options, Clock& clock) {
  const std::string where = target.info().Label() + ": target fence";
  // The marker first: a proxy login that sees read-only on must find it, never the reverse.
  // PostgreSQL 15 alters only a parameter the session knows: a SET makes the placeholder.
  Status st = target.Exec(std::string("SET ") + kTargetFenceMarker + " = 'off'");
  if (st.ok()) st = target.Exec(std::string("ALTER SYSTEM SET ") + kTargetFenceMarker + " = 'on'");
  if (st.ok()) st = target.Exec("ALTER SYSTEM SET default_transaction_read_only = on");
  if (!st.ok()) {
    return st.Context(where +
                      " (the orchestrator role needs ALTER SYSTEM on "
                      "default_transaction_read_only and on " +
                      kTargetFenceMarker + ")");
  }
  RETURN_IF_ERROR(ExemptSessionFromReadOnly(target));
  RETURN_IF_ERROR(Reload(target, where));
  RETURN_IF_ERROR(
      WaitServerReadOnly(target, /*on=*/true, Deadline(clock, options.deadline), clock));
  // Sessions of roles the fence does not admit: on a standby none of them has written, and
  // none may wait for the promotion (one could have turned read-only off for itself). Signalled,
  // not waited for: a backend with a pending SIGTERM cannot start a transaction.
  std::set<std::string> admitted(options.admitted_roles.begin(), options.admitted_roles.end());
  admitted.insert(options.orchestrator_user);
  auto killed = target.Query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
      "AND usename NOT IN (SELECT jsonb_array_elements_text($1::jsonb)) "
      "AND pid NOT IN (SELECT jsonb_array_elements_text($2::jsonb)::int)",
      {JsonArray(admitted), JsonArray(options.own_backend_pids)});
  if (!killed.ok()) return killed.status().Context(where + ": end sessions of other roles");
  return Status::Ok();
}

Status LiftTargetReadOnly(PgConnection& node, bool keep_read_only) {
  const std::string where = node.info().Label() + ": lift the target fence";
  Status st =
      keep_read_only ? Status::Ok() : node.Exec("ALTER SYSTEM RESET default_transaction_read_only");
  if (st.ok()) st = node.Exec(std::string("SET ") + kTargetFenceMarker + " = 'off'");
  if (st.ok()) st = node.Exec(std::string("ALTER SYSTEM RESET ") + kTargetFenceMarker);
  if (!st.ok()) return st.Context(where);
  return Reload(node, where);
}

Result<bool> TargetFenceMarked(PgConnection& node) {
  // A placeholder parameter is not in pg_settings; a session that never SET it sees the
  // configuration's value.
  ASSIGN_OR_RETURN(std::string v, node.QueryValue("SELECT coalesce(current_setting($1, true), '')",
                                                  {std::string(kTargetFenceMarker)}));
  return v == "on";
}

}  // namespace pgshift
