// The validation checks run before a migration touches anything: what the migration
// workflow and `pgshift check` call, and the shape of their verdicts.
//
// Each check gives pass / warn / fail with its evidence (the numbers and names it judged),
// the SQL that produced them, and advice an operator can act on. A failing check means the
// migration must not start; a warning means it may, but someone should look.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "pg/conninfo.h"

namespace pgshift {

enum class Verdict { kPass, kWarn, kFail };
std::string_view VerdictName(Verdict v);  // "pass", "warn", "fail"

struct CheckResult {
  std::string name;
  Verdict verdict = Verdict::kPass;
  nlohmann::json evidence = nlohmann::json::object();
  std::string advice;  // empty when there is nothing to do
  std::string query;   // the SQL the evidence came from
};

struct CheckOptions {
  std::chrono::milliseconds window{5000};  // sampling window for rates and lag
  std::chrono::milliseconds sample_interval{250};
  // How long the target may take to receive the replica_identity probe's token.
  std::chrono::milliseconds probe_timeout{5000};
  uint64_t max_lag_bytes = 16 * 1024 * 1024;
  double max_lag_seconds = 5.0;
  // An inactive slot holding back more WAL than this is stale (warn).
  uint64_t stale_slot_bytes = 64 * 1024 * 1024;
  // The roles the registered proxies log in to the source as: set (even empty) when the
  // migration has proxies, so that clients_outside_proxy names the others; unset, that check
  // is not run (without a proxy every client connects directly).
  std::optional<std::vector<std::string>> proxy_roles;
  // clients_outside_proxy fails instead of warning (spec direct_clients = "block").
  bool block_direct_clients = false;
  // Told the phase and the seconds left while sampling; may be empty.
  std::function<void(std::string_view phase, double seconds_left)> progress;
};

struct CheckReport {
  std::vector<CheckResult> checks;
  bool HasFailure() const;
  const CheckResult* Find(std::string_view name) const;
  // {"checks":[{name, verdict, evidence, advice, query}...], "summary":{pass, warn, fail,
  // total, verdict}}
  nlohmann::json ToJson() const;
};

// Connects to both endpoints, gathers facts, samples over the window, judges. Connectivity or
// privilege problems become failing checks named "connectivity" / "privileges" (evidence says
// which endpoint and why) rather than an error; an error Status (kInvalidArgument) only for
// malformed options. Takes about options.window to run against reachable servers.
Result<CheckReport> RunChecks(const ConnInfo& source, const ConnInfo& target,
                              const CheckOptions& options, Clock& clock);

}  // namespace pgshift
