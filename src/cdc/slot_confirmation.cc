// WaitForSlotsConfirmed: polls pg_replication_slots until every CDC consumer has confirmed
// the fence point, and explains which ones did not.
#include <map>

#include "cdc/slot_handover.h"

namespace pgshift {
namespace {

struct SlotProgress {
  Lsn confirmed;
  bool active = false;
  std::optional<int> pid;
};

Result<std::map<std::string, SlotProgress>> ReadProgress(PgConnection& c) {
  ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT slot_name, confirmed_flush_lsn, active, active_pid "
                                       "FROM pg_replication_slots WHERE slot_type = 'logical'"));
  std::map<std::string, SlotProgress> out;
  for (int i = 0; i < r.rows(); ++i) {
    SlotProgress p;
    if (auto lsn = r.GetOpt(i, "confirmed_flush_lsn")) {
      ASSIGN_OR_RETURN(p.confirmed, Lsn::Parse(*lsn));
    }
    p.active = r.GetBool(i, "active");
    if (auto pid = r.GetOpt(i, "active_pid")) p.pid = std::stoi(*pid);
    out[r.Get(i, "slot_name")] = p;
  }
  return out;
}

std::string Describe(const std::string& name, const SlotProgress& p, Lsn lsn) {
  std::string s = "slot '" + name + "' confirmed " + p.confirmed.ToString() + " (" +
                  std::to_string(BytesBetween(p.confirmed, lsn)) + " bytes behind), ";
  if (p.active && p.pid)
    return s + "consumer connected (walsender pid " + std::to_string(*p.pid) + ")";
  return s + "no consumer connected";
}

}  // namespace

Status WaitForSlotsConfirmed(PgConnection& source, const std::vector<LogicalSlot>& slots, Lsn lsn,
                             std::chrono::milliseconds timeout, Clock& clock,
                             const std::string& what_next) {
  if (slots.empty()) return Status::Ok();
  Deadline deadline(clock, timeout);
  while (true) {
    ASSIGN_OR_RETURN(auto progress, ReadProgress(source));
    std::vector<std::string> behind;
    for (const LogicalSlot& slot : slots) {
      auto it = progress.find(slot.name);
      if (it == progress.end()) {
        return FailedPrecondition(source.info().Label() + ": logical slot '" + slot.name +
                                  "' no longer exists, so its consumer cannot confirm " +
                                  lsn.ToString() + "; find out who dropped it before going on");
      }
      if (it->second.confirmed < lsn) behind.push_back(Describe(slot.name, it->second, lsn));
    }
    if (behind.empty()) return Status::Ok();
    if (deadline.Expired()) {
      std::string msg = source.info().Label() + ": CDC consumers did not confirm " +
                        lsn.ToString() + " within " + std::to_string(timeout.count()) + " ms: ";
      for (size_t i = 0; i < behind.size(); ++i) msg += (i ? "; " : "") + behind[i];
      return DeadlineExceeded(msg + ". " + what_next);
    }
    clock.SleepFor(std::chrono::milliseconds(10));
  }
}

}  // namespace pgshift
