// Check "major_version": a physical replica only works between servers of one major version.
#include "checks/check_functions.h"

namespace pgshift {

CheckResult CheckMajorVersion(const ClusterFacts& source, const ClusterFacts& target) {
  int source_major = source.server_version_num / 10000;
  int target_major = target.server_version_num / 10000;
  CheckResult r{.name = "major_version",
                .evidence = {{"source_version", source.server_version},
                             {"target_version", target.server_version},
                             {"source_major", source_major},
                             {"target_major", target_major}},
                .query = "SELECT current_setting('server_version_num')"};
  if (source_major != target_major) {
    r.verdict = Verdict::kFail;
    r.advice = "install PostgreSQL " + std::to_string(source_major) +
               " on the target; a physical replica needs the same major version";
  }
  return r;
}

}  // namespace pgshift
