// Check "connectivity": could pgshift reach and log in to each endpoint?
#include "checks/check_functions.h"

namespace pgshift {
namespace {

std::string AdviceFor(const EndpointAttempt& a) {
  switch (a.status.code()) {
    case Code::kUnauthenticated:
      return "check the user and password in the " + a.role + " connection string";
    case Code::kPermissionDenied:
      return "allow this host and user in the " + a.role +
             " server's pg_hba.conf, or grant the role the privilege named in the error";
    case Code::kNotFound:
      return "check the user and dbname in the " + a.role + " connection string";
    default:
      return "check host and port of the " + a.role +
             " connection string, that PostgreSQL runs there and that this host may reach it";
  }
}

}  // namespace

CheckResult CheckConnectivity(const std::vector<EndpointAttempt>& attempts) {
  CheckResult r{.name = "connectivity", .query = "connect; SELECT 1"};
  std::string advice;
  for (const auto& a : attempts) {
    nlohmann::json e = {{"endpoint", a.label}, {"ok", a.status.ok()}};
    if (!a.status.ok()) {
      r.verdict = Verdict::kFail;
      e["code"] = CodeName(a.status.code());
      e["error"] = a.status.message();
      advice += (advice.empty() ? "" : "; ") + a.role + ": " + AdviceFor(a);
    }
    r.evidence[a.role] = e;
  }
  r.advice = advice;
  return r;
}

CheckResult NotJudged(std::string name, const std::string& why, std::string query) {
  return CheckResult{.name = std::move(name),
                     .verdict = Verdict::kFail,
                     .evidence = {{"error", why}},
                     .advice = "fix the error above and run the checks again",
                     .query = std::move(query)};
}

}  // namespace pgshift
