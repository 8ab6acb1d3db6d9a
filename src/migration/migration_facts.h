// MigrationFacts: what a migration remembers between steps, runs and restarts, typed.
//
// The store keeps these facts as one JSON object in the migration's row (its data column) and
// changes them only by RFC 7386 merge patches; this type is the one reader and writer of that
// object, so steps, the engine and the status view never probe JSON paths. Modelled on
// LevelDB's VersionEdit: ToJson() encodes, FromJson() decodes and checks.
//
// Contract of the encoding:
//   - Keys and value shapes are today's (the same keys the steps wrote before this type
//     existed); phase-valued facts (failed_in, rollback_from, the keys of phase_started) are
//     persisted as PhaseName() strings, which tests and operators read in the store.
//   - "version" is kMigrationFactsVersion. A record without it is version 0, today's shape,
//     read as is. A writer bumps the version only when it changes the meaning or the type of
//     an existing key, and FromJson then converts older versions; adding a key does not bump
//     it. A record of a newer version than this reader knows is refused (kFailedPrecondition),
//     as MigrationContext::Load refuses an unknown phase.
//   - Unknown keys (added by a newer writer) are kept verbatim in `unknown` and written back by
//     ToJson(), so a round trip through an older reader loses nothing.
//   - A malformed value is kInvalidArgument naming its key ("migration data: 'final_lsn': ...").
//   - Absent means something: optional facts are absent until the step that learns them has
//     run; a flag that is only ever set is a bool, written only when true.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "migration/health_rates.h"
#include "migration/phase.h"
#include "pg/lsn.h"

namespace pgshift {

inline constexpr int kMigrationFactsVersion = 1;

// A logical slot as the fence step listed it on the source (and the slot handover made it on
// the target): the facts' own plain type, so that this layer does not depend on cdc/. The
// workflow converts to and from cdc's LogicalSlot in one place (workflow/recorded_slots.h).
// JSON as LogicalSlot::ToJson writes it: LSNs as "X/Y", active_pid null when no consumer.
struct RecordedSlot {
  std::string name, plugin, database;
  bool two_phase = false, temporary = false, active = false;
  std::optional<int> active_pid;
  Lsn confirmed_flush_lsn, restart_lsn;
  bool operator==(const RecordedSlot&) const = default;
};

// What the fence reported, for the operator (`migrate status`).
struct FenceRecord {
  int terminated_backends = 0;
  int held_by_router = 0;
  int prepared_transactions = 0;
  std::vector<std::string> layers;
  std::map<std::string, int64_t> layer_ms;
  bool operator==(const FenceRecord&) const = default;
};

struct MigrationFacts {
  int version = kMigrationFactsVersion;

  // The version of the step table the migration started under (workflow/workflow_version.h),
  // recorded by the engine on its first turn; absent in a record from before versions were
  // recorded.
  std::optional<int> workflow_version;

  // When each phase was last entered (wall seconds); written by every transition.
  std::map<Phase, double> phase_started;

  // Validate.
  std::optional<double> validate_started_at;  // the first window's start; reset on a re-run
  std::optional<nlohmann::json> checks;       // the CheckReport document (checks/ owns its shape)
  std::optional<HealthRates> baseline;        // the source's health, compared by verify

  // Quiesce, fence, drain, promote, slot handover, switch.
  std::optional<uint64_t> route_version;           // the version that routes to the target
  std::optional<Lsn> final_lsn;                    // the fenced source's last WAL position
  std::optional<Lsn> cdc_fence_lsn;                // the CDC fence point ("0/0" when no slot)
  std::optional<std::vector<RecordedSlot>> slots;  // logical slots on the source at the fence
  std::optional<FenceRecord> fence;
  std::optional<bool> snapshot_held;  // verification snapshots taken at the drain
  std::optional<int64_t> promote_ms;
  // The target fence (I8): true from before it is set (intent) until it is lifted.
  bool target_fenced = false;
  std::optional<std::vector<RecordedSlot>> slots_on_target;
  std::optional<double> switched_at;

  // Verify.
  std::optional<nlohmann::json> verify;  // the verification report document, for the operator
  bool cdc_pending = false;              // stopped waiting for CDC consumers: a re-run waits again

  // Failure and rollback.
  std::optional<Phase> failed_in;  // the phase a failure stopped (present while kFailed)
  std::optional<Phase> rollback_from;
  std::optional<std::string> rollback_reason;
  std::optional<bool> rollback_after_promotion;  // decided when the rollback started
  std::optional<uint64_t> rollback_route_version;
  bool rollback_rewound = false;              // the old source follows the target's writes
  bool rollback_kept_target_writes = false;   // reported: the rollback kept them
  bool rollback_keeps_target_writes = false;  // asked by the operator (CLI) after the start
  // Keeping the target's writes: the CDC point marked on the fenced target, which every
  // consumer's slot there confirms before the old source is rewound; and that they did.
  std::optional<Lsn> rollback_target_cdc_lsn;
  bool rollback_cdc_drained = false;
  // The point marked on the target, still taking writes, that its consumers read up to
  // before the rollback pauses (a signal for consumers following the rollback, too).
  std::optional<Lsn> rollback_cdc_catch_up_lsn;

  // Keys this version does not know, kept verbatim (a JSON object).
  nlohmann::json unknown = nlohmann::json::object();

  nlohmann::json ToJson() const;
  // `data` is the stored object; null (no data at all) reads as no facts.
  static Result<MigrationFacts> FromJson(const nlohmann::json& data);

  // The merge patch that turns `stored` (the data column as read) into ToJson(): only the keys
  // that differ, null for a key to remove. Keys a concurrent writer added since `stored` was
  // read are left alone, as a hand-written patch would.
  nlohmann::json MergePatchFrom(const nlohmann::json& stored) const;

  bool operator==(const MigrationFacts&) const = default;
};

nlohmann::json RecordedSlotToJson(const RecordedSlot& slot);
nlohmann::json FenceRecordToJson(const FenceRecord& fence);

}  // namespace pgshift
