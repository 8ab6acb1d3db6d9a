// DropSlots: removes replication slots, refusing to cut off a connected consumer unless told.
#include <chrono>
#include <map>
#include <thread>

#include "cdc/slot_handover.h"

namespace pgshift {
namespace {

struct SlotState {
  bool active = false;
  std::optional<int> pid;
};

Result<std::map<std::string, SlotState>> ReadStates(PgConnection& c) {
  ASSIGN_OR_RETURN(PgResult r,
                   c.Query("SELECT slot_name, active, active_pid FROM pg_replication_slots"));
  std::map<std::string, SlotState> out;
  for (int i = 0; i < r.rows(); ++i) {
    SlotState s;
    s.active = r.GetBool(i, "active");
    if (auto pid = r.GetOpt(i, "active_pid")) s.pid = std::stoi(*pid);
    out[r.Get(i, "slot_name")] = s;
  }
  return out;
}

// Terminates the consumer of `name` and waits (up to 10 s) for the slot to be released.
Status Disconnect(PgConnection& c, const std::string& name, int pid) {
  RETURN_IF_ERROR(c.Exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)}));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    ASSIGN_OR_RETURN(auto states, ReadStates(c));
    auto it = states.find(name);
    if (it == states.end() || !it->second.active) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Unavailable(c.info().Label() + ": slot '" + name + "' still in use 10 s after " +
                     "terminating its consumer (pid " + std::to_string(pid) + ")");
}

}  // namespace

Status DropSlots(const ConnInfo& server, const std::vector<std::string>& names, bool force) {
  for (const std::string& n : names) RETURN_IF_ERROR(ValidateSlotName(n));
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(server));
  ASSIGN_OR_RETURN(auto states, ReadStates(c));
  for (const std::string& n : names) {
    auto it = states.find(n);
    if (it == states.end()) {
      return NotFound(server.Label() + ": no replication slot named '" + n +
                      "' (see pgshift slots list); nothing was dropped");
    }
    if (it->second.active && !force) {
      return FailedPrecondition(
          server.Label() + ": slot '" + n + "' is in use by a consumer (pid " +
          (it->second.pid ? std::to_string(*it->second.pid) : std::string("unknown")) +
          "); stop that consumer first, or force it off; nothing was dropped");
    }
  }
  for (const std::string& n : names) {
    const SlotState& s = states.at(n);
    if (s.active && s.pid) RETURN_IF_ERROR(Disconnect(c, n, *s.pid));
    Status st = c.Exec("SELECT pg_drop_replication_slot($1)", {n});
    if (!st.ok()) return st.Context("dropping slot '" + n + "'");
  }
  return Status::Ok();
}

}  // namespace pgshift
