// Campaign: a named group of clusters migrated in waves (issue 13). The definition (members,
// waves, soak time, halt policy, the options each migration gets) is fixed when the campaign
// is created: a label selector is resolved to a list of clusters then, in name order, so that
// waves do not shift under a running campaign. The state (running, paused, halted with its
// reason, cancelled, completed) and what the campaign could not do (a cluster whose migration
// could not be created) change as it runs. Both live in the store as one JSON document
// (ControlStore::CampaignRecord); ToDocument/FromRecord are the only translation.
//
// Each member cluster gets one migration named "<campaign>-<cluster>" (MigrationNameFor).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/control_store.h"

namespace pgshift::scheduler {

enum class CampaignState { kRunning, kPaused, kHalted, kCancelled, kCompleted };
std::string CampaignStateName(CampaignState s);

// When a campaign stops itself. The default halts on the first failure or rollback.
struct HaltPolicy {
  enum class Kind { kFirstFailure, kFailures, kRate };
  Kind kind = Kind::kFirstFailure;
  int failures = 1;      // kFailures: halt at this many failed or rolled back
  double rate = 0;       // kRate: halt when failed / finished reaches this (0 < rate <= 1) ...
  int min_finished = 5;  // ... once at least this many finished
  nlohmann::json ToJson() const;
  std::string Describe() const;  // "first failure", "3 failures", "failure rate 20% of >= 5"
};

struct Campaign {
  std::string name;
  std::string team;                   // the owning team (all members are its clusters)
  std::vector<std::string> clusters;  // members, in wave order
  nlohmann::json selector;            // the label selector it was created from, or null
  std::vector<int> waves;             // wave sizes; 0 means "the rest"
  double soak_s = 0;                  // after each wave, before the next starts
  HaltPolicy halt;
  nlohmann::json migration_options = nlohmann::json::object();  // for POST /v1/migrations
  CampaignState state = CampaignState::kRunning;
  std::string halt_reason;                           // kHalted: why
  std::map<std::string, std::string> create_errors;  // cluster -> why its migration was refused
  // Members whose failure an operator looked at and resumed the halted campaign past: the
  // halt policy counts them no more (they still count as finished).
  std::vector<std::string> acknowledged_failures;
  // What operators did to it, oldest first: [{"at","action","by","why"}].
  nlohmann::json history = nlohmann::json::array();
  double created_at = 0;
  std::string created_by;

  // The wave (0-based) of each member, in member order. Members beyond the declared waves
  // (no "rest" given) form one last wave.
  std::vector<std::vector<std::string>> Waves() const;
  std::string MigrationNameFor(const std::string& cluster) const;

  nlohmann::json ToDocument() const;
  static Result<Campaign> FromRecord(const CampaignRecord& record);
};

// What POST /v1/campaigns asked for, checked field by field (kInvalidArgument with `field`).
struct CampaignRequest {
  Campaign campaign;  // members not resolved yet when `selector` is set
  std::optional<std::map<std::string, std::string>> selector;
};
struct CampaignRequestError {
  Status status;
  std::string field;
};
// Body: {"name", "team"?, "clusters":[..] | "selector":{"label":"value"}, "waves":[1,5,"rest"],
//        "soak_s"?, "halt"?: "first_failure" | {"failures":N} | {"rate":R,"min_finished":M},
//        "options"?: {...}}
Result<CampaignRequest> ParseCampaignRequest(const nlohmann::json& body,
                                             CampaignRequestError* error);
// Whether a cluster's labels match the selector (every key present with that value).
bool SelectorMatches(const std::map<std::string, std::string>& selector,
                     const nlohmann::json& labels);

// Operator actions on a campaign: the document patch to apply, or kFailedPrecondition when
// the state does not allow it (pause: running; resume: paused or halted; cancel: not
// finished). Every action is appended to the campaign's history with who asked and why.
// Resuming a halted campaign (after the operator looked at what failed) clears the halt and
// acknowledges the members failed so far (`failed_clusters`), so that the policy does not halt
// it again for the same failures; a new failure halts it as before.
enum class CampaignCommand { kPause, kResume, kCancel };
struct CommandRequest {
  std::string by;                            // the caller's identity ("token:ci")
  std::string why;                           // the operator's reason ("" when none given)
  double now = 0;                            // wall seconds
  std::vector<std::string> failed_clusters;  // members failed now (resume of a halted one)
};
Result<nlohmann::json> CommandPatch(const Campaign& campaign, CampaignCommand command,
                                    const CommandRequest& request = {});

}  // namespace pgshift::scheduler
