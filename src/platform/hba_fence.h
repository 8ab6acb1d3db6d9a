// Fence layer 2 on the local platform: pg_hba.conf admits only replication connections and the
// orchestrator role; everything else is rejected. The original file is kept beside it
// (pg_hba.conf.pgshift-orig) until the fence is lifted, so a restarted orchestrator restores
// it exactly. Both operations are idempotent and reload the server; a server that is not
// running answers kUnavailable (the file is written and read when it starts; retry the call).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift {

inline constexpr const char* kHbaFenceMarker = "# pgshift fence:";
inline constexpr const char* kHbaBackupName = "pg_hba.conf.pgshift-orig";

// The fenced form of `original`: "replication" entries kept as they are; every other entry
// narrowed to `orchestrator_user` (or dropped when it never admitted that role); then explicit
// reject entries. Pure, so it can be checked without a server. kInvalidArgument for a role
// name pg_hba.conf cannot express.
Result<std::string> FencedHba(const std::string& original, const std::string& orchestrator_user);
// The same with several admitted roles (the target fence: the orchestrator and the proxies'
// backend roles). An entry is kept, narrowed to the roles it admitted among `roles`.
Result<std::string> FencedHba(const std::string& original, const std::vector<std::string>& roles);

class HbaFence {
 public:
  HbaFence(std::string data_dir, std::string superuser_password)
      : data_dir_(std::move(data_dir)), password_(std::move(superuser_password)) {}

  // Saves the original (unless a saved one already exists: then it is the true original),
  // writes the fenced file and, if `reload`, reloads (pg_ctl reload). Without it the file
  // takes effect at the caller's next reload: the fence issues one SQL reload for this and
  // the read-only layer together, sparing a fork of pg_ctl while traffic is held.
  Status Apply(const std::string& orchestrator_user, bool reload = true);
  // Admitting every role of `roles` (the target fence).
  Status Apply(const std::vector<std::string>& roles, bool reload);
  // Puts the saved original back, reloads, removes the saved copy. No-op when not fenced.
  Status Lift();
  bool Applied() const;  // a saved original exists

  std::string hba_path() const { return data_dir_ + "/pg_hba.conf"; }
  std::string backup_path() const { return data_dir_ + "/" + kHbaBackupName; }

 private:
  Status Reload() const;
  std::string data_dir_;
  std::string password_;
};

}  // namespace pgshift
