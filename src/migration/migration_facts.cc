// MigrationFacts to and from the store's JSON object, and the merge patch between two of them.
#include "migration/migration_facts.h"

#include <initializer_list>
#include <limits>
#include <string_view>

namespace pgshift {
namespace {

using json = nlohmann::json;

Status Bad(std::string_view key, std::string_view what) {
  return InvalidArgument("migration data: '" + std::string(key) + "': " + std::string(what));
}

// Each reader takes the full key path for its message and a value known to be non-null.
Result<double> ReadDouble(std::string_view key, const json& v) {
  if (!v.is_number()) return Bad(key, "expected a number, got " + v.dump());
  return v.get<double>();
}

Result<int64_t> ReadInt(std::string_view key, const json& v) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
      return Bad(key, "integer out of range: " + v.dump());
    }
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (!v.is_number_integer()) return Bad(key, "expected an integer, got " + v.dump());
  return v.get<int64_t>();
}

Result<int> ReadInt32(std::string_view key, const json& v) {
  ASSIGN_OR_RETURN(int64_t n, ReadInt(key, v));
  if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
    return Bad(key, "integer out of range: " + v.dump());
  }
  return static_cast<int>(n);
}

Result<uint64_t> ReadUnsigned(std::string_view key, const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return Bad(key, "expected a non-negative integer, got " + v.dump());
}

Result<bool> ReadBool(std::string_view key, const json& v) {
  if (!v.is_boolean()) return Bad(key, "expected true or false, got " + v.dump());
  return v.get<bool>();
}

Result<std::string> ReadString(std::string_view key, const json& v) {
  if (!v.is_string()) return Bad(key, "expected a string, got " + v.dump());
  return v.get<std::string>();
}

Result<Lsn> ReadLsn(std::string_view key, const json& v) {
  ASSIGN_OR_RETURN(std::string text, ReadString(key, v));
  auto lsn = Lsn::Parse(text);
  if (!lsn.ok()) return Bad(key, lsn.status().message());
  return *lsn;
}

Result<Phase> ReadPhase(std::string_view key, const json& v) {
  ASSIGN_OR_RETURN(std::string name, ReadString(key, v));
  Phase p;
  if (!ParsePhaseName(name, &p)) return Bad(key, "unknown phase '" + name + "'");
  return p;
}

Result<json> ReadObject(std::string_view key, const json& v) {
  if (!v.is_object()) return Bad(key, "expected an object, got " + v.dump());
  return v;
}

// PostgreSQL restricts slot names to [a-z0-9_]{1,63}; a recorded name is passed to servers.
bool ValidSlotName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Result<RecordedSlot> ReadSlot(const std::string& key, const json& v) {
  if (!v.is_object()) return Bad(key, "expected a logical slot object, got " + v.dump());
  RecordedSlot s;
  for (const char* field : {"name", "plugin", "database"}) {
    if (!v.contains(field) || v[field].is_null()) return Bad(key + "." + field, "missing");
  }
  ASSIGN_OR_RETURN(s.name, ReadString(key + ".name", v["name"]));
  if (!ValidSlotName(s.name)) {
    return Bad(key + ".name", "'" + s.name + "' is not a slot name ([a-z0-9_]{1,63})");
  }
  ASSIGN_OR_RETURN(s.plugin, ReadString(key + ".plugin", v["plugin"]));
  ASSIGN_OR_RETURN(s.database, ReadString(key + ".database", v["database"]));
  if (s.plugin.empty() || s.database.empty()) {
    return Bad(key, "slot '" + s.name + "': plugin and database must not be empty");
  }
  struct {
    const char* field;
    bool* out;
  } flags[] = {{"two_phase", &s.two_phase}, {"temporary", &s.temporary}, {"active", &s.active}};
  for (const auto& f : flags) {
    if (v.contains(f.field)) {
      ASSIGN_OR_RETURN(*f.out, ReadBool(key + "." + f.field, v[f.field]));
    }
  }
  if (v.contains("active_pid") && !v["active_pid"].is_null()) {
    ASSIGN_OR_RETURN(s.active_pid, ReadInt32(key + ".active_pid", v["active_pid"]));
  }
  for (auto [field, out] : {std::pair{"confirmed_flush_lsn", &s.confirmed_flush_lsn},
                            std::pair{"restart_lsn", &s.restart_lsn}}) {
    if (!v.contains(field) || v[field].is_null()) continue;
    if (v[field].is_string() && v[field].get<std::string>().empty()) continue;
    ASSIGN_OR_RETURN(*out, ReadLsn(key + "." + field, v[field]));
  }
  return s;
}

Result<std::vector<RecordedSlot>> ReadSlots(const std::string& key, const json& v) {
  if (!v.is_array()) return Bad(key, "expected an array of logical slots, got " + v.dump());
  std::vector<RecordedSlot> out;
  for (size_t i = 0; i < v.size(); ++i) {
    ASSIGN_OR_RETURN(RecordedSlot s, ReadSlot(key + "[" + std::to_string(i) + "]", v[i]));
    out.push_back(std::move(s));
  }
  return out;
}

Result<HealthRates> ReadHealth(const std::string& key, const json& v) {
  if (!v.is_object()) return Bad(key, "expected an object, got " + v.dump());
  HealthRates h;
  if (v.contains("commits_per_s")) {
    ASSIGN_OR_RETURN(h.commits_per_s, ReadDouble(key + ".commits_per_s", v["commits_per_s"]));
  }
  if (v.contains("rollbacks_per_s")) {
    ASSIGN_OR_RETURN(h.rollbacks_per_s, ReadDouble(key + ".rollbacks_per_s", v["rollbacks_per_s"]));
  }
  if (v.contains("mean_statement_ms") && !v["mean_statement_ms"].is_null()) {
    ASSIGN_OR_RETURN(h.mean_statement_ms,
                     ReadDouble(key + ".mean_statement_ms", v["mean_statement_ms"]));
  }
  return h;
}

Result<FenceRecord> ReadFence(const std::string& key, const json& v) {
  if (!v.is_object()) return Bad(key, "expected an object, got " + v.dump());
  FenceRecord f;
  for (auto [field, out] : {std::pair{"terminated_backends", &f.terminated_backends},
                            std::pair{"held_by_router", &f.held_by_router},
                            std::pair{"prepared_transactions", &f.prepared_transactions}}) {
    if (v.contains(field)) {
      ASSIGN_OR_RETURN(*out, ReadInt32(key + "." + field, v[field]));
    }
  }
  if (v.contains("layers")) {
    if (!v["layers"].is_array()) return Bad(key + ".layers", "expected an array of strings");
    for (const auto& l : v["layers"]) {
      ASSIGN_OR_RETURN(std::string layer, ReadString(key + ".layers", l));
      f.layers.push_back(std::move(layer));
    }
  }
  if (v.contains("layer_ms")) {
    if (!v["layer_ms"].is_object()) return Bad(key + ".layer_ms", "expected an object");
    for (const auto& [name, ms] : v["layer_ms"].items()) {
      ASSIGN_OR_RETURN(f.layer_ms[name], ReadInt(key + ".layer_ms." + name, ms));
    }
  }
  return f;
}

// Reads the fields of today's shape (version 0 and 1 are the same shape).
Status ReadKnown(const std::string& key, const json& v, MigrationFacts& f, bool* known) {
  *known = true;
  if (key == "phase_started") {
    if (!v.is_object()) return Bad(key, "expected an object of phase start times");
    for (const auto& [name, at] : v.items()) {
      Phase p;
      if (!ParsePhaseName(name, &p)) return Bad(key + "." + name, "unknown phase");
      if (at.is_null()) continue;
      ASSIGN_OR_RETURN(f.phase_started[p], ReadDouble(key + "." + name, at));
    }
  } else if (key == "workflow_version") {
    ASSIGN_OR_RETURN(f.workflow_version, ReadInt32(key, v));
  } else if (key == "validate_started_at") {
    ASSIGN_OR_RETURN(f.validate_started_at, ReadDouble(key, v));
  } else if (key == "checks") {
    ASSIGN_OR_RETURN(f.checks, ReadObject(key, v));
  } else if (key == "baseline") {
    ASSIGN_OR_RETURN(f.baseline, ReadHealth(key, v));
  } else if (key == "route_version") {
    ASSIGN_OR_RETURN(f.route_version, ReadUnsigned(key, v));
  } else if (key == "final_lsn") {
    ASSIGN_OR_RETURN(f.final_lsn, ReadLsn(key, v));
  } else if (key == "cdc_fence_lsn") {
    ASSIGN_OR_RETURN(f.cdc_fence_lsn, ReadLsn(key, v));
  } else if (key == "slots") {
    ASSIGN_OR_RETURN(f.slots, ReadSlots(key, v));
  } else if (key == "fence") {
    ASSIGN_OR_RETURN(f.fence, ReadFence(key, v));
  } else if (key == "snapshot_held") {
    ASSIGN_OR_RETURN(f.snapshot_held, ReadBool(key, v));
  } else if (key == "promote_ms") {
    ASSIGN_OR_RETURN(f.promote_ms, ReadInt(key, v));
  } else if (key == "target_fenced") {
    ASSIGN_OR_RETURN(f.target_fenced, ReadBool(key, v));
  } else if (key == "slots_on_target") {
    ASSIGN_OR_RETURN(f.slots_on_target, ReadSlots(key, v));
  } else if (key == "switched_at") {
    ASSIGN_OR_RETURN(f.switched_at, ReadDouble(key, v));
  } else if (key == "verify") {
    ASSIGN_OR_RETURN(f.verify, ReadObject(key, v));
  } else if (key == "cdc_pending") {
    ASSIGN_OR_RETURN(f.cdc_pending, ReadBool(key, v));
  } else if (key == "failed_in") {
    ASSIGN_OR_RETURN(f.failed_in, ReadPhase(key, v));
  } else if (key == "rollback_from") {
    ASSIGN_OR_RETURN(f.rollback_from, ReadPhase(key, v));
  } else if (key == "rollback_reason") {
    ASSIGN_OR_RETURN(f.rollback_reason, ReadString(key, v));
  } else if (key == "rollback_after_promotion") {
    ASSIGN_OR_RETURN(f.rollback_after_promotion, ReadBool(key, v));
  } else if (key == "rollback_route_version") {
    ASSIGN_OR_RETURN(f.rollback_route_version, ReadUnsigned(key, v));
  } else if (key == "rollback_rewound") {
    ASSIGN_OR_RETURN(f.rollback_rewound, ReadBool(key, v));
  } else if (key == "rollback_kept_target_writes") {
    ASSIGN_OR_RETURN(f.rollback_kept_target_writes, ReadBool(key, v));
  } else if (key == "rollback_keeps_target_writes") {
    ASSIGN_OR_RETURN(f.rollback_keeps_target_writes, ReadBool(key, v));
  } else if (key == "rollback_target_cdc_lsn") {
    ASSIGN_OR_RETURN(f.rollback_target_cdc_lsn, ReadLsn(key, v));
  } else if (key == "rollback_cdc_drained") {
    ASSIGN_OR_RETURN(f.rollback_cdc_drained, ReadBool(key, v));
  } else if (key == "rollback_cdc_catch_up_lsn") {
    ASSIGN_OR_RETURN(f.rollback_cdc_catch_up_lsn, ReadLsn(key, v));
  } else {
    *known = false;
  }
  return Status::Ok();
}

// RFC 7386: the patch that turns `from` into `to` (both objects).
json Diff(const json& from, const json& to) {
  json patch = json::object();
  for (const auto& [key, was] : from.items()) {
    if (!to.contains(key)) patch[key] = nullptr;
  }
  for (const auto& [key, now] : to.items()) {
    auto was = from.find(key);
    if (was != from.end() && *was == now) continue;
    if (was != from.end() && was->is_object() && now.is_object()) {
      patch[key] = Diff(*was, now);
    } else {
      patch[key] = now;
    }
  }
  return patch;
}

}  // namespace

nlohmann::json RecordedSlotToJson(const RecordedSlot& s) {
  json j{{"name", s.name},
         {"plugin", s.plugin},
         {"database", s.database},
         {"two_phase", s.two_phase},
         {"temporary", s.temporary},
         {"active", s.active},
         {"active_pid", nullptr},
         {"confirmed_flush_lsn", s.confirmed_flush_lsn.ToString()},
         {"restart_lsn", s.restart_lsn.ToString()}};
  if (s.active_pid) j["active_pid"] = *s.active_pid;
  return j;
}

nlohmann::json FenceRecordToJson(const FenceRecord& f) {
  return {{"terminated_backends", f.terminated_backends},
          {"held_by_router", f.held_by_router},
          {"prepared_transactions", f.prepared_transactions},
          {"layers", f.layers},
          {"layer_ms", f.layer_ms}};
}

nlohmann::json MigrationFacts::ToJson() const {
  json j = unknown.is_object() ? unknown : json::object();
  j["version"] = version;
  if (!phase_started.empty()) {
    json started = json::object();
    for (const auto& [p, at] : phase_started) started[std::string(PhaseName(p))] = at;
    j["phase_started"] = started;
  }
  auto slots_json = [](const std::vector<RecordedSlot>& v) {
    json a = json::array();
    for (const auto& s : v) a.push_back(RecordedSlotToJson(s));
    return a;
  };
  if (workflow_version) j["workflow_version"] = *workflow_version;
  if (validate_started_at) j["validate_started_at"] = *validate_started_at;
  if (checks) j["checks"] = *checks;
  if (baseline) j["baseline"] = baseline->ToJson();
  if (route_version) j["route_version"] = *route_version;
  if (final_lsn) j["final_lsn"] = final_lsn->ToString();
  if (cdc_fence_lsn) j["cdc_fence_lsn"] = cdc_fence_lsn->ToString();
  if (slots) j["slots"] = slots_json(*slots);
  if (fence) j["fence"] = FenceRecordToJson(*fence);
  if (snapshot_held) j["snapshot_held"] = *snapshot_held;
  if (promote_ms) j["promote_ms"] = *promote_ms;
  if (target_fenced) j["target_fenced"] = true;
  if (slots_on_target) j["slots_on_target"] = slots_json(*slots_on_target);
  if (switched_at) j["switched_at"] = *switched_at;
  if (verify) j["verify"] = *verify;
  if (cdc_pending) j["cdc_pending"] = true;
  if (failed_in) j["failed_in"] = PhaseName(*failed_in);
  if (rollback_from) j["rollback_from"] = PhaseName(*rollback_from);
  if (rollback_reason) j["rollback_reason"] = *rollback_reason;
  if (rollback_after_promotion) j["rollback_after_promotion"] = *rollback_after_promotion;
  if (rollback_route_version) j["rollback_route_version"] = *rollback_route_version;
  if (rollback_rewound) j["rollback_rewound"] = true;
  if (rollback_kept_target_writes) j["rollback_kept_target_writes"] = true;
  if (rollback_keeps_target_writes) j["rollback_keeps_target_writes"] = true;
  if (rollback_target_cdc_lsn) j["rollback_target_cdc_lsn"] = rollback_target_cdc_lsn->ToString();
  if (rollback_cdc_drained) j["rollback_cdc_drained"] = true;
  if (rollback_cdc_catch_up_lsn) {
    j["rollback_cdc_catch_up_lsn"] = rollback_cdc_catch_up_lsn->ToString();
  }
  return j;
}

Result<MigrationFacts> MigrationFacts::FromJson(const nlohmann::json& data) {
  MigrationFacts f;
  if (data.is_null()) return f;
  if (!data.is_object()) {
    return InvalidArgument("migration data: expected a JSON object, got " + data.dump());
  }
  int version = 0;  // before the field existed: today's shape
  if (data.contains("version") && !data["version"].is_null()) {
    ASSIGN_OR_RETURN(version, ReadInt32("version", data["version"]));
    if (version < 0) return Bad("version", "must not be negative");
    if (version > kMigrationFactsVersion) {
      return FailedPrecondition("migration data: 'version' " + std::to_string(version) +
                                " is newer than this pgshift reads (" +
                                std::to_string(kMigrationFactsVersion) +
                                "); is this store from a newer pgshift?");
    }
  }
  // Versions 0 and 1 share one shape: nothing to convert yet.
  for (const auto& [key, v] : data.items()) {
    if (key == "version") continue;
    // A merge patch removes nulls; one left by another writer means absent.
    if (v.is_null()) continue;
    bool known = false;
    RETURN_IF_ERROR(ReadKnown(key, v, f, &known));
    if (!known) f.unknown[key] = v;
  }
  f.version = kMigrationFactsVersion;
  return f;
}

nlohmann::json MigrationFacts::MergePatchFrom(const nlohmann::json& stored) const {
  return Diff(stored.is_object() ? stored : json::object(), ToJson());
}

}  // namespace pgshift
