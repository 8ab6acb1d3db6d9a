// Check "slot_health": the source's replication slots. A slot nobody consumes pins WAL
// until the disk fills; a slot whose WAL is gone ("lost") can never be resumed, on the
// source or (recreated) on the target.
#include "checks/check_functions.h"

namespace pgshift {
namespace {

struct SlotJudgement {
  Verdict verdict = Verdict::kPass;
  std::string reason;
  std::string advice;
};

std::string Mb(uint64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MB"; }

SlotJudgement Judge(const SlotFact& s, uint64_t stale_bytes) {
  std::string drop = "SELECT pg_drop_replication_slot('" + s.name + "') on the source";
  if (s.wal_status == "lost") {
    return {Verdict::kFail, "WAL it needs was removed (wal_status lost): it cannot be resumed",
            "slot " + s.name + " is unusable: " + drop + " and rebuild its consumer"};
  }
  if (s.wal_status == "unreserved") {
    return {Verdict::kWarn,
            "beyond max_slot_wal_keep_size (wal_status unreserved): its WAL may go any moment",
            "let the consumer of " + s.name + " catch up now, or " + drop};
  }
  uint64_t held = s.retained_bytes.value_or(0);
  if (!s.active && held > stale_bytes) {
    return {Verdict::kWarn, "inactive and retaining " + Mb(held) + " of WAL",
            "slot " + s.name + " is stale (retains " + Mb(held) + "): reconnect its consumer or " +
                drop};
  }
  if (!s.active && s.type == "logical") {
    return {Verdict::kWarn, "inactive logical slot retaining " + std::to_string(held) + " bytes",
            "logical slot " + s.name +
                " has no consumer connected: start it so it confirms "
                "its position before the cutover, or " +
                drop};
  }
  return {};
}

}  // namespace

CheckResult CheckSlotHealth(const ClusterFacts& source, uint64_t stale_slot_bytes) {
  CheckResult r{.name = "slot_health", .query = facts_sql::kSlots};
  nlohmann::json slots = nlohmann::json::array();
  std::string advice;
  for (const auto& s : source.slots) {
    SlotJudgement j = Judge(s, stale_slot_bytes);
    nlohmann::json e = {{"slot", s.name},
                        {"type", s.type},
                        {"plugin", s.plugin},
                        {"database", s.database},
                        {"active", s.active},
                        {"wal_status", s.wal_status},
                        {"retained_bytes", s.retained_bytes ? nlohmann::json(*s.retained_bytes)
                                                            : nlohmann::json(nullptr)},
                        {"verdict", VerdictName(j.verdict)}};
    if (!j.reason.empty()) e["reason"] = j.reason;
    slots.push_back(e);
    if (j.verdict > r.verdict) r.verdict = j.verdict;
    if (!j.advice.empty()) advice += (advice.empty() ? "" : "; ") + j.advice;
  }
  r.evidence = {{"slots", slots}, {"stale_threshold_bytes", stale_slot_bytes}};
  r.advice = advice;
  return r;
}

}  // namespace pgshift
