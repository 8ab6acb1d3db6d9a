// Cutover arming: a cutover scheduled for a window (`POST .../arm`), taken automatically once
// every gate is green inside it. This file holds the arm state as the server keeps it (under
// "arm" in the migration's control object), the validation of an arm request, and the one
// decision the server's ticker applies to every armed migration: wait (and why), cut over now,
// or give up because the window ended (disarm, with a note saying which gates were red). The
// gates are judged by the caller at the moment of the decision (RedCutoverGates over the
// migration re-read from the store), never remembered from an earlier look. Pure.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "migration/phase.h"
#include "workflow/cutover_gates.h"

namespace pgshift::server {

// The longest window an arm request may ask for, and how far ahead it may end.
inline constexpr double kMaxArmAheadSeconds = 7 * 24 * 3600.0;

struct ArmState {
  double not_before = 0;  // wall seconds
  double window_end = 0;
  std::string armed_by;  // the identity that armed it ("token:ci")
  double armed_at = 0;

  // {"not_before","window_end","armed_by","armed_at"}: RFC 3339 times.
  nlohmann::json ToJson() const;
  // kInvalidArgument when the stored object is malformed.
  static Result<ArmState> FromJson(const nlohmann::json& j);
};

// An arm request the caller got wrong: the status (kInvalidArgument) and the field at fault.
struct ArmRequestError {
  Status status;
  std::string field;
};

// Reads `{"not_before":"RFC3339","window_end":"RFC3339"}`. not_before may be omitted (now);
// window_end must be after not_before, in the future, and at most kMaxArmAheadSeconds from now.
// On an error `error` says why and names the field, and nothing is returned.
std::optional<ArmState> ParseArmRequest(const nlohmann::json& body, const std::string& armed_by,
                                        double now, ArmRequestError* error);

struct ArmDecision {
  enum class Action {
    kWait,         // keep the arm; `why` says what it waits for
    kCutOverNow,   // request the cutover and clear the arm
    kWindowEnded,  // clear the arm and add `note` to the migration's events
    kDisarm,       // the migration moved on (cutover already started, or finished): clear it
  };
  Action action = Action::kWait;
  std::string why;   // kWait: what it waits for, for the migration's "arm" view
  std::string note;  // kWindowEnded / kDisarm: the note for the migration's events
};

// `red_gates`: the gates red now (empty: green). `approval_valid`: an approval the arm may use
// is in force (true when the team needs none).
ArmDecision DecideArmed(const ArmState& arm, double now, Phase phase,
                        const std::vector<RedGate>& red_gates, bool approval_valid);

}  // namespace pgshift::server
