// LogicalSlot: reading slots from pg_replication_slots and their JSON form.
#include "cdc/logical_slot.h"

namespace pgshift {
namespace {

Result<Lsn> LsnOrZero(const std::optional<std::string>& text) {
  if (!text) return Lsn{};
  return Lsn::Parse(*text);
}

Result<std::string> StringField(const nlohmann::json& j, const char* key, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) return InvalidArgument(std::string("logical slot: missing field '") + key + "'");
    return std::string();
  }
  if (!j[key].is_string()) {
    return InvalidArgument(std::string("logical slot: field '") + key + "' must be a string");
  }
  return j[key].get<std::string>();
}

Result<bool> BoolField(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return false;
  if (!j[key].is_boolean()) {
    return InvalidArgument(std::string("logical slot: field '") + key + "' must be true or false");
  }
  return j[key].get<bool>();
}

Result<Lsn> LsnField(const nlohmann::json& j, const char* key) {
  ASSIGN_OR_RETURN(std::string text, StringField(j, key, false));
  if (text.empty()) return Lsn{};
  auto lsn = Lsn::Parse(text);
  if (!lsn.ok()) {
    return InvalidArgument(std::string("logical slot: field '") + key +
                           "': " + lsn.status().message());
  }
  return *lsn;
}

}  // namespace

Status ValidateSlotName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63;
  for (char ch : name)
    ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_');
  if (ok) return Status::Ok();
  return InvalidArgument("'" + name +
                         "' is not a replication slot name: PostgreSQL slot names are 1 to 63 "
                         "characters of lower-case letters, digits and underscores");
}

nlohmann::json LogicalSlot::ToJson() const {
  nlohmann::json j{{"name", name},
                   {"plugin", plugin},
                   {"database", database},
                   {"two_phase", two_phase},
                   {"temporary", temporary},
                   {"active", active},
                   {"active_pid", nullptr},
                   {"confirmed_flush_lsn", confirmed_flush_lsn.ToString()},
                   {"restart_lsn", restart_lsn.ToString()}};
  if (active_pid) j["active_pid"] = *active_pid;
  return j;
}

Result<LogicalSlot> LogicalSlot::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("logical slot: expected a JSON object");
  LogicalSlot s;
  ASSIGN_OR_RETURN(s.name, StringField(j, "name", true));
  RETURN_IF_ERROR(ValidateSlotName(s.name));
  ASSIGN_OR_RETURN(s.plugin, StringField(j, "plugin", true));
  ASSIGN_OR_RETURN(s.database, StringField(j, "database", true));
  if (s.plugin.empty() || s.database.empty()) {
    return InvalidArgument("logical slot '" + s.name + "': plugin and database must not be empty");
  }
  ASSIGN_OR_RETURN(s.two_phase, BoolField(j, "two_phase"));
  ASSIGN_OR_RETURN(s.temporary, BoolField(j, "temporary"));
  ASSIGN_OR_RETURN(s.active, BoolField(j, "active"));
  if (j.contains("active_pid") && !j["active_pid"].is_null()) {
    if (!j["active_pid"].is_number_integer()) {
      return InvalidArgument("logical slot '" + s.name + "': active_pid must be an integer");
    }
    s.active_pid = j["active_pid"].get<int>();
  }
  ASSIGN_OR_RETURN(s.confirmed_flush_lsn, LsnField(j, "confirmed_flush_lsn"));
  ASSIGN_OR_RETURN(s.restart_lsn, LsnField(j, "restart_lsn"));
  return s;
}

Result<std::vector<LogicalSlot>> ListLogicalSlots(PgConnection& c) {
  ASSIGN_OR_RETURN(PgResult r,
                   c.Query("SELECT slot_name, plugin, database, two_phase, temporary, active, "
                           "active_pid, confirmed_flush_lsn, restart_lsn "
                           "FROM pg_replication_slots "
                           "WHERE slot_type = 'logical' AND NOT temporary ORDER BY slot_name"));
  std::vector<LogicalSlot> slots;
  for (int i = 0; i < r.rows(); ++i) {
    LogicalSlot s;
    s.name = r.Get(i, "slot_name");
    s.plugin = r.Get(i, "plugin");
    s.database = r.Get(i, "database");
    s.two_phase = r.GetBool(i, "two_phase");
    s.temporary = r.GetBool(i, "temporary");
    s.active = r.GetBool(i, "active");
    if (auto pid = r.GetOpt(i, "active_pid")) s.active_pid = std::stoi(*pid);
    ASSIGN_OR_RETURN(s.confirmed_flush_lsn, LsnOrZero(r.GetOpt(i, "confirmed_flush_lsn")));
    ASSIGN_OR_RETURN(s.restart_lsn, LsnOrZero(r.GetOpt(i, "restart_lsn")));
    slots.push_back(std::move(s));
  }
  return slots;
}

}  // namespace pgshift
