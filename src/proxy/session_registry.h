// SessionRegistry: every admitted session, for the admin API (listing, drain reports).
// Session fields that change are atomics written by the session's event loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pgshift::proxy {

struct SessionInfo {
  uint64_t id = 0;
  std::string cluster, database, user, identity, client;
  double started_unix = 0;
  bool replication = false;  // logical replication: stays on its server through a switch
  std::atomic<bool> busy{false};
  std::atomic<char> tx_status{'I'};
  std::atomic<bool> held{false};
  std::atomic<bool> pinned{false};
  std::atomic<uint64_t> route_version{0};
  // The process id of its server backend (BackendKeyData), 0 while it has none.
  std::atomic<int> backend_pid{0};
  // Its standby link (Session::PrepareStandby): none, being opened, open, or failed.
  enum StandbyState : int { kNoStandby, kStandbyOpening, kStandbyOpen, kStandbyFailed };
  std::atomic<int> standby{kNoStandby};
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0};
};

class SessionRegistry {
 public:
  void Add(std::shared_ptr<SessionInfo> s);
  void Remove(uint64_t id);
  std::vector<std::shared_ptr<SessionInfo>> Snapshot() const;
  std::vector<std::shared_ptr<SessionInfo>> OfCluster(const std::string& cluster) const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<SessionInfo>> sessions_;
};

}  // namespace pgshift::proxy
