// Check "shared_preload_libraries": a library the source preloads (auditing, statistics,
// an extension's background worker) must be preloaded on the target too, or what depends
// on it breaks at the cutover.
#include <set>

#include "checks/check_functions.h"

namespace pgshift {
namespace {

// "a, 'b',c" -> {a, b, c}
std::set<std::string> SplitLibraries(const std::string& value) {
  std::set<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.insert(cur);
    cur.clear();
  };
  for (char c : value) {
    if (c == ',') {
      flush();
    } else if (c != ' ' && c != '\t' && c != '"' && c != '\'') {
      cur.push_back(c);
    }
  }
  flush();
  return out;
}

}  // namespace

CheckResult CheckSharedPreloadLibraries(const ClusterFacts& source, const ClusterFacts& target) {
  std::set<std::string> s = SplitLibraries(source.Setting("shared_preload_libraries"));
  std::set<std::string> t = SplitLibraries(target.Setting("shared_preload_libraries"));
  std::vector<std::string> missing;
  for (const auto& lib : s) {
    if (!t.count(lib)) missing.push_back(lib);
  }
  CheckResult r{
      .name = "shared_preload_libraries",
      .evidence = {{"source", s}, {"target", t}, {"missing_on_target", missing}},
      .query = std::string(facts_sql::kSettings) + " WHERE name = 'shared_preload_libraries'"};
  if (!missing.empty()) {
    r.verdict = Verdict::kFail;
    std::string all;
    for (const auto& lib : t) all += (all.empty() ? "" : ",") + lib;
    for (const auto& lib : missing) all += (all.empty() ? "" : ",") + lib;
    r.advice =
        "install the missing libraries on the target, ALTER SYSTEM SET "
        "shared_preload_libraries = '" +
        all + "' there and restart it";
  }
  return r;
}

}  // namespace pgshift
