// Check "extension_parity": every extension installed on the source (catalog pg_extension,
// per database) must be installable on the target at the same version (its installation's
// control and script files, pg_available_extension_versions). A physical replica copies the
// catalog but not the installation: a missing version breaks the extension after promotion.
#include "checks/check_functions.h"

namespace pgshift {
namespace {

nlohmann::json VersionsOn(const ClusterFacts& target, const std::string& name) {
  nlohmann::json v = nlohmann::json::array();
  for (const auto& [n, version] : target.available_extension_versions) {
    if (n == name) v.push_back(version);
  }
  return v;
}

}  // namespace

CheckResult CheckExtensionParity(const ClusterFacts& source, const ClusterFacts& target) {
  nlohmann::json missing = nlohmann::json::array();
  nlohmann::json checked = nlohmann::json::array();
  std::string advice;
  for (const auto& e : source.installed_extensions) {
    checked.push_back({{"database", e.database}, {"extension", e.name}, {"version", e.version}});
    if (target.available_extension_versions.count({e.name, e.version})) continue;
    missing.push_back({{"database", e.database},
                       {"extension", e.name},
                       {"version", e.version},
                       {"available_on_target", VersionsOn(target, e.name)}});
    advice += (advice.empty() ? "" : "; ") + std::string("install ") + e.name + " version " +
              e.version + " on the target host (its package for this PostgreSQL major version)";
  }
  CheckResult r{.name = "extension_parity",
                .evidence = {{"installed_on_source", checked},
                             {"missing_on_target", missing},
                             {"unreadable_databases", source.unreadable_databases}},
                .query = std::string(facts_sql::kInstalledExtensions) +
                         " (in each of: " + facts_sql::kDatabases +
                         "); on the target: " + facts_sql::kAvailableExtensionVersions};
  if (!missing.empty()) {
    r.verdict = Verdict::kFail;
    r.advice = advice;
  } else if (!source.unreadable_databases.empty()) {
    r.verdict = Verdict::kWarn;
    r.advice =
        "some source databases could not be read (see unreadable_databases); allow the "
        "role to connect to them and run the checks again";
  }
  return r;
}

}  // namespace pgshift
