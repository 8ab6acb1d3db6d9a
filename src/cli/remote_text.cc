// Text rendering of server lists.
#include "cli/remote_text.h"

namespace pgshift::cli {
namespace {

std::string Str(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "-";
  return j[key].get<std::string>();
}

}  // namespace

std::string RemoteMigrationListText(const nlohmann::json& summaries, const std::string& where) {
  if (!summaries.is_array() || summaries.empty()) return "no migrations at " + where + "\n";
  std::string out;
  for (const auto& m : summaries) {
    out += Str(m, "name") + "  " + Str(m, "phase") + "  " + Str(m, "state") + "  cluster " +
           Str(m, "cluster") + " (team " + Str(m, "team") + ")";
    if (m.contains("lag_bytes") && m["lag_bytes"].is_number()) {
      out += "  lag " + std::to_string(m["lag_bytes"].get<long long>()) + " B";
    }
    out += "\n";
  }
  return out;
}

std::string RemoteClusterListText(const nlohmann::json& clusters, const std::string& where) {
  if (!clusters.is_array() || clusters.empty()) return "no clusters at " + where + "\n";
  std::string out;
  for (const auto& c : clusters) {
    out += Str(c, "name") + "  team " + Str(c, "team");
    const auto migration = c.value("migration", nlohmann::json());
    if (migration.is_object()) {
      out += "  migration " + Str(migration, "name") + ": " + Str(migration, "phase") + " (" +
             Str(migration, "state") + ")";
    } else {
      out += "  no migration";
    }
    out += "\n";
  }
  return out;
}

}  // namespace pgshift::cli
