// Cutover gates judged from a migration's record.
#include "workflow/cutover_gates.h"

namespace pgshift {
namespace {

std::string PhaseReason(Phase phase) {
  switch (phase) {
    case Phase::kCreated:
    case Phase::kReplicating:
      return "the target is still being built and brought to streaming; validation has not run";
    case Phase::kValidating:
      return "validation is still judging the checks and the lag over its window";
    case Phase::kReadyForCutover:
      return "";
    case Phase::kCompleted:
    case Phase::kRolledBack:
      return "the migration is finished (" + std::string(PhaseName(phase)) + ")";
    case Phase::kFailed:
      return "the migration failed; it can only be rolled back";
    case Phase::kRollingBack:
      return "the migration is rolling back";
    default:
      return "a cutover is already running (" + std::string(PhaseName(phase)) + ")";
  }
}

// The failing checks of the recorded CheckReport document ({"checks":[{name, verdict,
// advice}...]}); a check without a verdict counts as failing (the record cannot vouch for it).
void AddFailingChecks(const nlohmann::json& report, std::vector<RedGate>& out) {
  if (!report.is_object() || !report.contains("checks") || !report["checks"].is_array()) {
    out.push_back({"checks", "the recorded validation report cannot be read"});
    return;
  }
  for (const auto& c : report["checks"]) {
    std::string name = c.value("name", std::string("unnamed"));
    std::string verdict = c.value("verdict", std::string());
    if (verdict == "pass" || verdict == "warn") continue;
    std::string advice = c.value("advice", std::string());
    out.push_back({"check:" + name, advice.empty() ? "the check failed" : advice});
  }
}

}  // namespace

std::vector<RedGate> RedCutoverGates(Phase phase, const MigrationSpec& spec,
                                     const MigrationFacts& facts,
                                     std::optional<uint64_t> latest_lag_bytes) {
  std::vector<RedGate> red;
  if (std::string why = PhaseReason(phase); !why.empty()) red.push_back({"phase", why});
  if (!facts.checks) {
    red.push_back({"checks", "no validation has been recorded yet"});
  } else {
    AddFailingChecks(*facts.checks, red);
  }
  if (latest_lag_bytes && *latest_lag_bytes > spec.max_lag_bytes) {
    red.push_back({"replication_lag",
                   "the latest lag reading is " + std::to_string(*latest_lag_bytes) +
                       " bytes, over max_lag_bytes " + std::to_string(spec.max_lag_bytes)});
  }
  return red;
}

std::string DescribeRedGates(const std::vector<RedGate>& gates) {
  std::string s;
  for (const auto& g : gates) s += (s.empty() ? "" : ", ") + g.gate;
  return s;
}

}  // namespace pgshift
