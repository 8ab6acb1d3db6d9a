// Terminal and JSON-lines progress displays.
#include "workflow/progress.h"

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

namespace pgshift {
namespace {

std::string HumanBytes(uint64_t b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

class TerminalProgress : public ProgressSink {
 public:
  explicit TerminalProgress(std::FILE* out) : out_(out), tty_(isatty(fileno(out))) {}
  void Update(const ProgressUpdate& u) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string line = "[" + std::string(PhaseName(u.phase)) + "] " + u.message;
    if (u.lag_bytes) line += "  lag " + HumanBytes(*u.lag_bytes);
    if (u.lag_seconds) line += " (" + Fixed(*u.lag_seconds, 2) + " s)";
    if (u.bytes_done) {
      line += "  " + HumanBytes(*u.bytes_done);
      if (u.bytes_total && *u.bytes_total) line += " / " + HumanBytes(*u.bytes_total);
    }
    if (u.eta_seconds) line += "  ETA " + Fixed(*u.eta_seconds, 0) + " s";
    if (tty_) {
      std::fprintf(out_, "\r\033[K%s", line.c_str());
    } else {
      // Not a terminal: print at most one progress line a second per phase.
      auto now = std::chrono::steady_clock::now();
      if (u.phase == last_phase_ && now - last_ < std::chrono::seconds(1)) return;
      last_ = now;
      last_phase_ = u.phase;
      std::fprintf(out_, "%s\n", line.c_str());
    }
    std::fflush(out_);
  }
  void Transition(Phase from, Phase to, const std::string& reason) override {
    std::lock_guard<std::mutex> l(mu_);
    if (tty_) std::fprintf(out_, "\r\033[K");
    std::fprintf(out_, "%s -> %s: %s\n", std::string(PhaseName(from)).c_str(),
                 std::string(PhaseName(to)).c_str(), reason.c_str());
    std::fflush(out_);
  }

 private:
  static std::string Fixed(double v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
  }
  std::FILE* out_;
  bool tty_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  Phase last_phase_ = Phase::kCreated;
};

class JsonProgress : public ProgressSink {
 public:
  explicit JsonProgress(std::FILE* out) : out_(out) {}
  void Update(const ProgressUpdate& u) override {
    nlohmann::json j = {
        {"event", "progress"}, {"phase", PhaseName(u.phase)}, {"message", u.message}};
    if (u.lag_bytes) j["lag_bytes"] = *u.lag_bytes;
    if (u.lag_seconds) j["lag_seconds"] = *u.lag_seconds;
    if (u.bytes_done) j["bytes_done"] = *u.bytes_done;
    if (u.bytes_total) j["bytes_total"] = *u.bytes_total;
    if (u.eta_seconds) j["eta_seconds"] = *u.eta_seconds;
    Emit(j);
  }
  void Transition(Phase from, Phase to, const std::string& reason) override {
    Emit({{"event", "transition"},
          {"from", PhaseName(from)},
          {"to", PhaseName(to)},
          {"reason", reason}});
  }

 private:
  void Emit(const nlohmann::json& j) {
    std::lock_guard<std::mutex> l(mu_);
    std::fprintf(out_, "%s\n", j.dump().c_str());
    std::fflush(out_);
  }
  std::FILE* out_;
  std::mutex mu_;
};

class SilentProgress : public ProgressSink {
 public:
  void Update(const ProgressUpdate&) override {}
  void Transition(Phase, Phase, const std::string&) override {}
};

}  // namespace

std::unique_ptr<ProgressSink> MakeTerminalProgress(std::FILE* out) {
  return std::make_unique<TerminalProgress>(out);
}
std::unique_ptr<ProgressSink> MakeJsonProgress(std::FILE* out) {
  return std::make_unique<JsonProgress>(out);
}
std::unique_ptr<ProgressSink> MakeSilentProgress() { return std::make_unique<SilentProgress>(); }

}  // namespace pgshift
