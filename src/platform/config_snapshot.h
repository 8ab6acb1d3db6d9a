// The source's own configuration files, saved outside its data directory while pg_rewind
// replaces them with the target's (pg_rewind copies postgresql.conf, postgresql.auto.conf,
// pg_hba.conf, pgshift.conf with the port... and deletes files the target lacks).
// The snapshot lives in "<data_dir>.pgshift-config/" so it survives a crash mid-rewind; the
// first save wins, because after pg_rewind the data directory no longer holds the originals.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift {

class ConfigSnapshot {
 public:
  explicit ConfigSnapshot(std::string data_dir);

  // The files a snapshot covers, relative to the data directory.
  static const std::vector<std::string>& Files();

  bool Exists() const;
  // Saves every file (absent ones recorded as absent). pg_hba.conf is saved from the fence's
  // copy of the original when the source is fenced. No-op when a snapshot already exists.
  Status Save();
  // Puts every saved file back into the data directory and removes those that were absent.
  // pg_hba.conf comes back as the original (unfenced).
  Status Restore() const;
  // Whether the source was fenced when the snapshot was saved (its fenced pg_hba.conf is kept
  // beside the original), and putting that fence back over a restored original: the fenced
  // file in place, the original as the fence's backup, as HbaFence leaves them.
  bool WasFenced() const;
  Status RestoreHbaFence() const;
  Status Discard() const;

  // Marks / tells that pg_rewind has completed, so a re-run after a crash does not repeat it.
  Status MarkRewound() const;
  bool Rewound() const;

  const std::string& dir() const { return dir_; }

 private:
  std::string data_dir_;
  std::string dir_;
};

}  // namespace pgshift
