// LoopVolume: a small ext4 file system in a file under the round's directory, loop-mounted, for
// the `disk_full` fault: the target's data directory lives on it, and a filler file takes all
// but a little of its space once the replica is built, so that the replica's WAL receiving
// meets ENOSPC (it needs a fresh 16 MB segment; the filler leaves less). The filler goes after
// the fault's hold. The volume is unmounted and its file removed by Remove() and the
// destructor; bench/chaos's trap unmounts whatever is still mounted under its directory.
#pragma once

#include <mutex>
#include <string>

#include "common/status.h"

namespace pgshift::chaos {

class LoopVolume {
 public:
  // Whether this process may mount a loop file system (root, loop devices, mkfs.ext4).
  static bool Available(const std::string& scratch_dir);

  LoopVolume() = default;
  ~LoopVolume() { Remove(); }
  LoopVolume(const LoopVolume&) = delete;
  LoopVolume& operator=(const LoopVolume&) = delete;

  // Makes `image` (size_mb, sparse), mkfs.ext4 without reserved blocks, mounts it on
  // `mount_point` (created) and hands it to the postgres user.
  Status Create(const std::string& image, const std::string& mount_point, int size_mb);
  // A filler file leaving `leave_bytes` free; returns the bytes it took.
  Result<uint64_t> Fill(uint64_t leave_bytes);
  // Removes the filler.
  Status Unfill();
  // Unmounts (lazily if busy) and removes the image. Idempotent.
  void Remove();
  uint64_t FreeBytes() const;

 private:
  std::mutex mu_;
  std::string image_, mount_point_;
  bool mounted_ = false;
};

}  // namespace pgshift::chaos
