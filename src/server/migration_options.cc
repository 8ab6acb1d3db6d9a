// Judging migration options.
#include "server/migration_options.h"

namespace pgshift::server {

ApiError ApplyMigrationOptions(const nlohmann::json& options, MigrationSpec& spec) {
  if (options.is_null()) return {};
  if (!options.is_object()) return {InvalidArgument("options: must be a JSON object"), "options"};
  for (const auto& [key, v] : options.items()) {
    const std::string field = "options." + key;
    auto bad = [&](const std::string& what) {
      return ApiError{InvalidArgument(field + ": " + what), field};
    };
    auto seconds = [&](std::chrono::milliseconds& out) -> ApiError {
      if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 86400) {
        return bad("give seconds, more than 0 and at most 86400");
      }
      out = std::chrono::milliseconds(int64_t(v.get<double>() * 1000));
      return {};
    };
    ApiError e;
    if (key == "check_window_s") {
      e = seconds(spec.check_window);
    } else if (key == "validate_timeout_s") {
      e = seconds(spec.validate_timeout);
    } else if (key == "pause_deadline_s") {
      e = seconds(spec.pause_deadline);
    } else if (key == "fence_deadline_s") {
      e = seconds(spec.fence_deadline);
    } else if (key == "drain_timeout_s") {
      e = seconds(spec.drain_timeout);
    } else if (key == "cdc_timeout_s") {
      e = seconds(spec.cdc_timeout);
    } else if (key == "cdc_catch_up_timeout_s") {
      e = seconds(spec.cdc_catch_up_timeout);
    } else if (key == "max_lag_bytes") {
      if (!v.is_number_unsigned() || v.get<uint64_t>() == 0) return bad("give a positive integer");
      spec.max_lag_bytes = v.get<uint64_t>();
    } else if (key == "max_lag_seconds") {
      if (!v.is_number() || v.get<double>() <= 0) return bad("give a positive number");
      spec.max_lag_seconds = v.get<double>();
    } else if (key == "auto_cutover") {
      if (!v.is_boolean()) return bad("give true or false");
      spec.auto_cutover = v.get<bool>();
    } else if (key == "rollback_keeps_target_writes") {
      if (!v.is_boolean()) return bad("give true or false");
      spec.rollback_keeps_target_writes = v.get<bool>();
    } else if (key == "direct_clients") {
      if (!v.is_string() || (v != "warn" && v != "block")) return bad("give \"warn\" or \"block\"");
      spec.direct_clients = v.get<std::string>();
    } else {
      return bad(
          "unknown option (expected check_window_s, max_lag_bytes, max_lag_seconds, "
          "auto_cutover, validate_timeout_s, pause_deadline_s, fence_deadline_s, "
          "drain_timeout_s, cdc_timeout_s, cdc_catch_up_timeout_s, rollback_keeps_target_writes, "
          "direct_clients)");
    }
    if (!e.status.ok()) return e;
  }
  return {};
}

}  // namespace pgshift::server
