// Polling a server-driven migration into a ProgressSink.
#include "cli/remote_follow.h"

#include <thread>

#include "migration/phase.h"

namespace pgshift::cli {
namespace {

Phase PhaseOf(const nlohmann::json& j, const char* key) {
  Phase p = Phase::kCreated;
  if (j.contains(key) && j[key].is_string()) (void)ParsePhaseName(j[key].get<std::string>(), &p);
  return p;
}

template <typename T>
std::optional<T> Number(const nlohmann::json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<T>();
  return std::nullopt;
}

// The last value of a [[t, v], ...] series.
std::optional<uint64_t> LastOfSeries(const nlohmann::json& m, const char* series) {
  if (!m.contains("series") || !m["series"].is_object()) return std::nullopt;
  const auto& s = m["series"];
  if (!s.contains(series) || !s[series].is_array() || s[series].empty()) return std::nullopt;
  const auto& last = s[series].back();
  if (!last.is_array() || last.size() < 2 || !last[1].is_number()) return std::nullopt;
  return static_cast<uint64_t>(last[1].get<double>());
}

bool Ended(Phase p) { return IsTerminal(p) || p == Phase::kFailed; }

}  // namespace

ProgressUpdate ProgressFromMigrationJson(const nlohmann::json& m) {
  ProgressUpdate u;
  u.phase = PhaseOf(m, "phase");
  u.message = m.value("state", "");
  // The server's live progress when it gives one; else the lag it recorded last.
  const nlohmann::json progress = m.value("progress", nlohmann::json::object());
  if (progress.is_object() && progress.contains("message") && progress["message"].is_string()) {
    u.message = progress["message"].get<std::string>();
  }
  u.lag_bytes = Number<uint64_t>(progress, "lag_bytes");
  if (!u.lag_bytes) u.lag_bytes = Number<uint64_t>(m, "lag_bytes");
  if (!u.lag_bytes) u.lag_bytes = LastOfSeries(m, "lag_bytes");
  u.lag_seconds = Number<double>(progress, "lag_seconds");
  u.bytes_done = Number<uint64_t>(progress, "bytes_done");
  u.bytes_total = Number<uint64_t>(progress, "bytes_total");
  u.eta_seconds = Number<double>(progress, "eta_seconds");
  return u;
}

Result<FollowReport> FollowMigration(const ServerClient& client, const std::string& name,
                                     const FollowOptions& options, ProgressSink& progress) {
  const std::string path = ApiPath("/v1/migrations/", name);
  size_t seen = options.events_seen;
  auto unreachable_since = std::chrono::steady_clock::time_point{};
  bool cutover_asked = false;
  while (true) {
    auto answer = client.Get(path);
    if (!answer.ok()) {
      // A server restarting is not the end of the migration: it resumes what it drove.
      if (answer.status().code() != Code::kUnavailable) return answer.status();
      auto now = std::chrono::steady_clock::now();
      if (unreachable_since == std::chrono::steady_clock::time_point{}) unreachable_since = now;
      if (now - unreachable_since > options.unreachable_limit) return answer.status();
      std::this_thread::sleep_for(options.poll_interval);
      continue;
    }
    unreachable_since = {};
    const nlohmann::json& m = answer->body;
    const nlohmann::json events = m.value("events", nlohmann::json::array());
    for (size_t i = seen; i < events.size(); ++i) {
      const auto& e = events[i];
      if (e.contains("from") && e.contains("to")) {
        progress.Transition(PhaseOf(e, "from"), PhaseOf(e, "to"), e.value("reason", ""));
      } else {
        // A note (window ended without green gates, ...), not a phase change.
        progress.Update({PhaseOf(m, "phase"), e.value("text", e.value("reason", ""))});
      }
    }
    seen = std::max(seen, events.size());
    Phase phase = PhaseOf(m, "phase");
    bool at_gate = phase == Phase::kReadyForCutover && !m.value("cutover_requested", false);
    if (at_gate && options.cutover_at_gate && !cutover_asked) {
      auto asked = client.Post(ApiPath("/v1/migrations/", name, "/cutover"));
      if (!asked.ok()) return asked.status();
      cutover_asked = true;
      continue;
    }
    if (Ended(phase) || (at_gate && !options.wait_at_gate)) {
      FollowReport report{m, Status::Ok()};
      bool asked = m.value("rollback_requested", false);
      if (phase == Phase::kFailed || (phase == Phase::kRolledBack && !asked)) {
        std::string why = events.empty() ? std::string() : events.back().value("reason", "");
        report.outcome = FailedPrecondition(name + " is " + m.value("state", "failed") + ": " +
                                            m.value("rollback_reason", why));
      }
      return report;
    }
    progress.Update(ProgressFromMigrationJson(m));
    std::this_thread::sleep_for(options.poll_interval);
  }
}

}  // namespace pgshift::cli
