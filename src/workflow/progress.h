// Progress: what a long operation shows while it runs. On a terminal, one line rewritten in
// place (phase, lag, bytes, ETA); with --json, one JSON object per line for machines.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "migration/phase.h"

namespace pgshift {

struct ProgressUpdate {
  Phase phase = Phase::kCreated;
  std::string message;
  std::optional<uint64_t> lag_bytes;
  std::optional<double> lag_seconds;
  std::optional<uint64_t> bytes_done;
  std::optional<uint64_t> bytes_total;
  std::optional<double> eta_seconds;
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void Update(const ProgressUpdate& u) = 0;
  virtual void Transition(Phase from, Phase to, const std::string& reason) = 0;
};

std::unique_ptr<ProgressSink> MakeTerminalProgress(std::FILE* out);
std::unique_ptr<ProgressSink> MakeJsonProgress(std::FILE* out);
std::unique_ptr<ProgressSink> MakeSilentProgress();

}  // namespace pgshift
