// Text rendering of migration status.
#include "cli/status_text.h"

#include <cstdio>

namespace pgshift::cli {

std::string MigrationStatusText(const nlohmann::json& s) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "migration %s: %s (%s)\n", s.value("name", "").c_str(),
                s.value("phase", "").c_str(), s.value("state", "").c_str());
  out += buf;
  if (s.contains("source")) {
    out += "  source: " + s["source"].get<std::string>() + "\n";
    out += "  target: " + s["target"].get<std::string>() + "\n";
  }
  for (const auto& p : s.value("phases", nlohmann::json::array())) {
    std::snprintf(buf, sizeof buf, "  %-18s %8.3f s\n", p.value("name", "").c_str(),
                  p.value("seconds", 0.0));
    out += buf;
  }
  if (s.contains("checks")) {
    for (const auto& c : s["checks"].value("checks", nlohmann::json::array())) {
      std::snprintf(buf, sizeof buf, "  check %-24s %s\n", c.value("name", "").c_str(),
                    c.value("verdict", "").c_str());
      out += buf;
      if (c.value("verdict", "") != "pass" && !c.value("advice", "").empty()) {
        out += "        advice: " + c.value("advice", "") + "\n";
      }
    }
  }
  const auto& events = s.value("events", nlohmann::json::array());
  if (!events.empty()) out += "  last event: " + events.back().value("reason", "") + "\n";
  return out;
}

std::string MigrationListText(const std::vector<MigrationSummary>& all, const std::string& store) {
  if (all.empty()) return "no migrations in " + store + "\n";
  std::string out;
  for (const auto& r : all) {
    out += r.name + "  " + std::string(PhaseName(r.phase)) + "  " + r.state + "  " + r.source +
           " -> " + r.target + "\n";
  }
  return out;
}

}  // namespace pgshift::cli
