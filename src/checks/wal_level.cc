// Check "wal_level": streaming needs replica or logical on the source; logical slots need
// logical, on the source now and on the target once it becomes the primary and their
// equivalents are recreated there.
#include "checks/check_functions.h"

namespace pgshift {
namespace {

int LogicalSlots(const ClusterFacts& f) {
  int n = 0;
  for (const auto& s : f.slots) n += s.type == "logical" ? 1 : 0;
  return n;
}

}  // namespace

CheckResult CheckWalLevel(const ClusterFacts& source, const ClusterFacts& target) {
  std::string s = source.Setting("wal_level");
  std::string t = target.Setting("wal_level");
  int logical = LogicalSlots(source);
  CheckResult r{.name = "wal_level",
                .evidence = {{"source", s}, {"target", t}, {"source_logical_slots", logical}},
                .query = std::string(facts_sql::kSettings) + " WHERE name = 'wal_level'; " +
                         facts_sql::kSlots};
  std::vector<std::string> problems;
  std::vector<std::string> advice;
  if (s != "replica" && s != "logical") {
    problems.push_back("source wal_level is " + s + ", too low to stream");
    advice.push_back("ALTER SYSTEM SET wal_level = replica on the source and restart it");
  } else if (logical > 0 && s != "logical") {
    problems.push_back("the source has logical slots but wal_level " + s);
    advice.push_back("ALTER SYSTEM SET wal_level = logical on the source and restart it");
  }
  if (logical > 0 && t != "logical") {
    problems.push_back("the target has wal_level " + t + " but the source's " +
                       std::to_string(logical) + " logical slot(s) must be recreated on it");
    advice.push_back("ALTER SYSTEM SET wal_level = logical on the target and restart it");
  } else if (t == "minimal") {
    problems.push_back(
        "the target has wal_level minimal; as the new primary it could feed no "
        "replica");
    advice.push_back("ALTER SYSTEM SET wal_level = replica on the target and restart it");
  }
  if (!problems.empty()) {
    r.verdict = Verdict::kFail;
    r.evidence["problems"] = problems;
    std::string a;
    for (const auto& x : advice) a += (a.empty() ? "" : "; ") + x;
    r.advice = a;
  }
  return r;
}

}  // namespace pgshift
