// Arm state, arm requests and the arming decision.
#include "server/cutover_arming.h"

#include "server/rfc3339_time.h"

namespace pgshift::server {
namespace {

// The phases after the gate: a cutover (or its rollback) has started.
bool CutoverStarted(Phase p) {
  return p != Phase::kCreated && p != Phase::kReplicating && p != Phase::kValidating &&
         p != Phase::kReadyForCutover && p != Phase::kFailed;
}

}  // namespace

nlohmann::json ArmState::ToJson() const {
  return {{"not_before", FormatRfc3339(not_before)},
          {"window_end", FormatRfc3339(window_end)},
          {"armed_by", armed_by},
          {"armed_at", FormatRfc3339(armed_at)}};
}

Result<ArmState> ArmState::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("arm state: not an object");
  ArmState a;
  for (auto [key, out] : {std::pair<const char*, double*>{"not_before", &a.not_before},
                          {"window_end", &a.window_end},
                          {"armed_at", &a.armed_at}}) {
    if (!j.contains(key) || !j[key].is_string()) {
      return InvalidArgument(std::string("arm state: '") + key + "' missing");
    }
    ASSIGN_OR_RETURN(*out, ParseRfc3339(j[key].get<std::string>()));
  }
  if (!j.contains("armed_by") || !j["armed_by"].is_string()) {
    return InvalidArgument("arm state: 'armed_by' missing");
  }
  a.armed_by = j["armed_by"].get<std::string>();
  return a;
}

std::optional<ArmState> ParseArmRequest(const nlohmann::json& body, const std::string& armed_by,
                                        double now, ArmRequestError* error) {
  auto fail = [error](const std::string& field, const std::string& message) {
    *error = {InvalidArgument(message), field};
    return std::nullopt;
  };
  if (!body.is_object()) return fail("", "the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "not_before" && key != "window_end") {
      return fail(key, "unknown field '" + key + "'; an arm takes not_before and window_end");
    }
  }
  ArmState arm;
  arm.armed_by = armed_by;
  arm.armed_at = now;
  arm.not_before = now;
  if (body.contains("not_before") && !body["not_before"].is_null()) {
    if (!body["not_before"].is_string()) {
      return fail("not_before", "not_before must be an RFC 3339 time string");
    }
    auto t = ParseRfc3339(body["not_before"].get<std::string>());
    if (!t.ok()) return fail("not_before", "not_before: " + t.status().message());
    arm.not_before = *t;
  }
  if (!body.contains("window_end") || !body["window_end"].is_string()) {
    return fail("window_end", "window_end is required: an RFC 3339 time string");
  }
  auto end = ParseRfc3339(body["window_end"].get<std::string>());
  if (!end.ok()) return fail("window_end", "window_end: " + end.status().message());
  arm.window_end = *end;
  if (arm.window_end <= arm.not_before) {
    return fail("window_end", "window_end (" + FormatRfc3339(arm.window_end) +
                                  ") must be after not_before (" + FormatRfc3339(arm.not_before) +
                                  ")");
  }
  if (arm.window_end <= now) {
    return fail("window_end", "window_end (" + FormatRfc3339(arm.window_end) +
                                  ") has already passed (now " + FormatRfc3339(now) + ")");
  }
  if (arm.window_end - now > kMaxArmAheadSeconds) {
    return fail("window_end", "window_end may be at most 7 days ahead (" +
                                  FormatRfc3339(now + kMaxArmAheadSeconds) + ")");
  }
  return arm;
}

ArmDecision DecideArmed(const ArmState& arm, double now, Phase phase,
                        const std::vector<RedGate>& red_gates, bool approval_valid) {
  using Action = ArmDecision::Action;
  if (CutoverStarted(phase)) {
    return {Action::kDisarm, "", "arm cleared: the migration is " + std::string(PhaseName(phase))};
  }
  std::vector<std::string> red;
  for (const auto& g : red_gates) red.push_back(g.gate);
  if (!approval_valid) red.push_back("approval");
  std::string which;
  for (const auto& r : red) which += (which.empty() ? "" : ", ") + r;
  if (now >= arm.window_end) {
    return {Action::kWindowEnded, "",
            which.empty() ? "window ended before the cutover could be requested"
                          : "window ended without green gates: " + which};
  }
  if (now < arm.not_before) {
    return {Action::kWait, "the window opens at " + FormatRfc3339(arm.not_before), ""};
  }
  if (!red.empty()) {
    std::string why =
        "in the window until " + FormatRfc3339(arm.window_end) + "; waiting for green gates: ";
    for (size_t i = 0; i < red_gates.size(); ++i) {
      why += (i ? "; " : "") + red_gates[i].gate + " (" + red_gates[i].reason + ")";
    }
    if (!approval_valid) {
      why += std::string(red_gates.empty() ? "" : "; ") +
             "approval (needs an approval by a second identity)";
    }
    return {Action::kWait, why, ""};
  }
  return {Action::kCutOverNow, "", ""};
}

}  // namespace pgshift::server
