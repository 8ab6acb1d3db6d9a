// Spec (de)serialisation.
#include "migration/migration_spec.h"

namespace pgshift {
namespace {
int64_t Ms(std::chrono::milliseconds d) { return d.count(); }
}  // namespace

nlohmann::json MigrationSpec::ToJson() const {
  nlohmann::json j = {
      {"name", name},
      {"source", source.raw()},
      {"target", target.raw()},
      {"platform", platform},
      {"target_dir", target_dir},
      {"target_port", target_port},
      {"source_data_dir", source_data_dir},
      {"auto_cutover", auto_cutover},
      {"check_window_ms", Ms(check_window)},
      {"max_lag_bytes", max_lag_bytes},
      {"max_lag_seconds", max_lag_seconds},
      {"validate_timeout_ms", Ms(validate_timeout)},
      {"pause_deadline_ms", Ms(pause_deadline)},
      {"pause_lease_ms", Ms(pause_lease)},
      {"fence_deadline_ms", Ms(fence_deadline)},
      {"drain_timeout_ms", Ms(drain_timeout)},
      {"cdc_timeout_ms", Ms(cdc_timeout)},
      {"cdc_catch_up_timeout_ms", Ms(cdc_catch_up_timeout)},
      {"promote_timeout_ms", Ms(promote_timeout)},
      {"router", router},
      {"rollback_keeps_target_writes", rollback_keeps_target_writes},
  };
  if (fence_command) j["fence_command"] = *fence_command;
  if (unfence_command) j["unfence_command"] = *unfence_command;
  if (target_fence_command) j["target_fence_command"] = *target_fence_command;
  if (target_unfence_command) j["target_unfence_command"] = *target_unfence_command;
  j["direct_clients"] = direct_clients;
  if (source_password) j["source_password"] = source_password->ToJson();
  if (target_password) j["target_password"] = target_password->ToJson();
  return j;
}

nlohmann::json MigrationSpec::ToPublicJson() const {
  nlohmann::json j = ToJson();
  j["source"] = source.Label();
  j["target"] = target.Label();
  return j;
}

Result<MigrationSpec> MigrationSpec::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("migration spec is not a JSON object");
  MigrationSpec s;
  auto ms = [&](const char* key, std::chrono::milliseconds def) {
    return std::chrono::milliseconds(j.value(key, def.count()));
  };
  s.name = j.value("name", "");
  ASSIGN_OR_RETURN(s.source, ConnInfo::Parse(j.value("source", ""), "source"));
  ASSIGN_OR_RETURN(s.target, ConnInfo::Parse(j.value("target", ""), "target"));
  s.platform = j.value("platform", "local");
  s.target_dir = j.value("target_dir", "");
  s.target_port = j.value("target_port", 0);
  s.source_data_dir = j.value("source_data_dir", "");
  s.auto_cutover = j.value("auto_cutover", false);
  s.check_window = ms("check_window_ms", s.check_window);
  s.max_lag_bytes = j.value("max_lag_bytes", s.max_lag_bytes);
  s.max_lag_seconds = j.value("max_lag_seconds", s.max_lag_seconds);
  s.validate_timeout = ms("validate_timeout_ms", s.validate_timeout);
  s.pause_deadline = ms("pause_deadline_ms", s.pause_deadline);
  s.pause_lease = ms("pause_lease_ms", s.pause_lease);
  s.fence_deadline = ms("fence_deadline_ms", s.fence_deadline);
  s.drain_timeout = ms("drain_timeout_ms", s.drain_timeout);
  s.cdc_timeout = ms("cdc_timeout_ms", s.cdc_timeout);
  s.cdc_catch_up_timeout = ms("cdc_catch_up_timeout_ms", s.cdc_catch_up_timeout);
  s.promote_timeout = ms("promote_timeout_ms", s.promote_timeout);
  if (j.contains("fence_command")) s.fence_command = j["fence_command"].get<std::string>();
  if (j.contains("unfence_command")) s.unfence_command = j["unfence_command"].get<std::string>();
  if (j.contains("target_fence_command")) {
    s.target_fence_command = j["target_fence_command"].get<std::string>();
  }
  if (j.contains("target_unfence_command")) {
    s.target_unfence_command = j["target_unfence_command"].get<std::string>();
  }
  s.direct_clients = j.value("direct_clients", s.direct_clients);
  if (s.direct_clients != "warn" && s.direct_clients != "block") {
    return InvalidArgument("migration spec: direct_clients is '" + s.direct_clients +
                           "'; expected 'warn' or 'block'");
  }
  s.router = j.value("router", nlohmann::json{{"kind", "none"}});
  s.rollback_keeps_target_writes = j.value("rollback_keeps_target_writes", false);
  if (j.contains("source_password")) {
    ASSIGN_OR_RETURN(s.source_password,
                     SecretRef::FromJson(j["source_password"], "source_password"));
  }
  if (j.contains("target_password")) {
    ASSIGN_OR_RETURN(s.target_password,
                     SecretRef::FromJson(j["target_password"], "target_password"));
  }
  return s;
}

Status ResolvePasswords(MigrationSpec& spec) {
  auto fill = [](ConnInfo& conn, const std::optional<SecretRef>& ref) -> Status {
    if (!ref || !conn.Get("password").empty()) return Status::Ok();
    auto value = ref->Resolve();
    if (!value.ok()) return value.status().Context(conn.role());
    conn = conn.With("password", *value);
    return Status::Ok();
  };
  RETURN_IF_ERROR(fill(spec.source, spec.source_password));
  return fill(spec.target, spec.target_password);
}

}  // namespace pgshift
