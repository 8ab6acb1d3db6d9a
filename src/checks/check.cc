// Verdict names and the report's JSON form.
#include "checks/check.h"

namespace pgshift {

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kWarn:
      return "warn";
    case Verdict::kFail:
      return "fail";
  }
  return "fail";
}

bool CheckReport::HasFailure() const {
  for (const auto& c : checks) {
    if (c.verdict == Verdict::kFail) return true;
  }
  return false;
}

const CheckResult* CheckReport::Find(std::string_view name) const {
  for (const auto& c : checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

nlohmann::json CheckReport::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  int counts[3] = {0, 0, 0};
  for (const auto& c : checks) {
    counts[static_cast<int>(c.verdict)]++;
    list.push_back({{"name", c.name},
                    {"verdict", VerdictName(c.verdict)},
                    {"evidence", c.evidence},
                    {"advice", c.advice},
                    {"query", c.query}});
  }
  Verdict overall = counts[2] > 0   ? Verdict::kFail
                    : counts[1] > 0 ? Verdict::kWarn
                                    : Verdict::kPass;
  return {{"checks", list},
          {"summary",
           {{"pass", counts[0]},
            {"warn", counts[1]},
            {"fail", counts[2]},
            {"total", checks.size()},
            {"verdict", VerdictName(overall)}}}};
}

}  // namespace pgshift
