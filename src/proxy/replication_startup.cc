// Reading the `replication` startup parameter.
#include "proxy/replication_startup.h"

#include <algorithm>
#include <cctype>

namespace pgshift::proxy {
namespace {

// PostgreSQL's boolean spelling (parse_bool): a whole word or an unambiguous prefix of one.
bool ParseBool(std::string v, bool& out) {
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  auto prefix_of = [&](const char* word, size_t min) {
    std::string w(word);
    return v.size() >= min && v.size() <= w.size() && w.compare(0, v.size(), v) == 0;
  };
  if (prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || v == "1") {
    out = true;
    return true;
  }
  if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || v == "0") {
    out = false;
    return true;
  }
  return false;
}

}  // namespace

Result<ReplicationMode> ReplicationModeOf(const std::map<std::string, std::string>& params) {
  auto it = params.find("replication");
  if (it == params.end()) return ReplicationMode::kNone;
  if (it->second == "database") return ReplicationMode::kLogical;
  bool on = false;
  if (!ParseBool(it->second, on)) {
    return InvalidArgument("invalid value for parameter \"replication\": \"" + it->second +
                           "\" (use database, or a boolean)");
  }
  return on ? ReplicationMode::kPhysical : ReplicationMode::kNone;
}

std::string ReplicationRefusal(ReplicationMode mode) {
  if (mode != ReplicationMode::kPhysical) return "";
  return "physical replication connections are not served by the proxy (standbys and "
         "pg_basebackup must connect to the server itself); logical replication "
         "(replication=database) is served to identities allowed it";
}

}  // namespace pgshift::proxy
