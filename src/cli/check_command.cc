// `pgshift check`: runs every validation check against a source and its replica-to-be and
// prints the verdicts as a table, or as one JSON object with --json. Exit 0 when nothing
// fails, 1 when a check fails, 2 for bad input (the endpoint named).
#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "checks/check.h"
#include "cli/command.h"

namespace pgshift::cli {
namespace {

struct CheckArgs {
  std::string source;
  std::string target;
  bool json = false;
  double window_seconds = 5.0;
  double sample_interval_seconds = 0.25;
  uint64_t max_lag_bytes = 16 * 1024 * 1024;
  double max_lag_seconds = 5.0;
  uint64_t stale_slot_bytes = 64 * 1024 * 1024;
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One line of evidence for people: scalars as key=value, short lists and objects inline,
// long ones by size (--json shows everything).
std::string EvidenceLine(const nlohmann::json& evidence) {
  constexpr size_t kInline = 90;
  constexpr size_t kWidth = 240;
  std::string line;
  for (const auto& [key, value] : evidence.items()) {
    std::string v = value.is_string() ? value.get<std::string>() : value.dump();
    if (v.size() > kInline && value.is_array()) v = "[" + std::to_string(value.size()) + " items]";
    if (v.size() > kInline && value.is_object()) v = "{" + std::to_string(value.size()) + " keys}";
    line += (line.empty() ? "" : " ") + key + "=" + v;
  }
  if (line.size() > kWidth) line = line.substr(0, kWidth) + "...";
  return line;
}

void PrintTable(const CheckReport& report, std::ostream& out) {
  const std::string indent(33, ' ');
  for (const auto& c : report.checks) {
    out << fmt::format("{:<5} {:<26} ", Upper(VerdictName(c.verdict)), c.name)
        << EvidenceLine(c.evidence) << "\n";
    if (!c.advice.empty()) out << indent << "advice: " << c.advice << "\n";
  }
  auto s = report.ToJson()["summary"];
  out << "\n"
      << s["total"] << " checks: " << s["pass"] << " pass, " << s["warn"] << " warn, " << s["fail"]
      << " fail (--json for all evidence and the queries)\n";
}

CheckOptions OptionsFrom(const CheckArgs& a) {
  CheckOptions o;
  o.window = std::chrono::milliseconds(static_cast<int64_t>(a.window_seconds * 1000));
  o.sample_interval =
      std::chrono::milliseconds(static_cast<int64_t>(a.sample_interval_seconds * 1000));
  o.max_lag_bytes = a.max_lag_bytes;
  o.max_lag_seconds = a.max_lag_seconds;
  o.stale_slot_bytes = a.stale_slot_bytes;
  if (isatty(STDERR_FILENO)) {
    o.progress = [](std::string_view phase, double left) {
      std::fprintf(stderr, "\r\033[K%.*s%s", static_cast<int>(phase.size()), phase.data(),
                   left > 0
                       ? (": " + std::to_string(static_cast<int>(left + 0.99)) + " s left").c_str()
                       : "");
      std::fflush(stderr);
    };
  }
  return o;
}

void Run(const CheckArgs& a) {
  if (a.source.empty()) OrFail(InvalidArgument("--source CONNINFO is required"), 2);
  if (a.target.empty()) OrFail(InvalidArgument("--target CONNINFO is required"), 2);
  ConnInfo source = OrFail(ConnInfo::Parse(a.source, "source"), 2);
  ConnInfo target = OrFail(ConnInfo::Parse(a.target, "target"), 2);
  CheckOptions options = OptionsFrom(a);
  CheckReport report = OrFail(RunChecks(source, target, options, Clock::Real()), 2);
  if (options.progress) std::fprintf(stderr, "\r\033[K");
  if (a.json) {
    std::cout << report.ToJson().dump(2) << "\n";
  } else {
    PrintTable(report, std::cout);
  }
  std::cout.flush();
  if (report.HasFailure()) {
    std::string failed;
    for (const auto& c : report.checks) {
      if (c.verdict == Verdict::kFail) failed += (failed.empty() ? "" : ", ") + c.name;
    }
    OrFail(FailedPrecondition("checks failed: " + failed), 1);
  }
}

}  // namespace

void AddCheckCommand(CLI::App& app, GlobalOptions&) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand(
      "check", "Validate that a target replica is ready to take over from its source");
  cmd->add_option("--source", args->source, "source (primary) connection string");
  cmd->add_option("--target", args->target, "target (its physical replica) connection string");
  cmd->add_flag("--json", args->json, "print one JSON object instead of a table");
  cmd->add_option("--window", args->window_seconds, "sampling window for rates and lag (s)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--sample-interval", args->sample_interval_seconds,
                  "seconds between samples in the window")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-lag-bytes", args->max_lag_bytes, "lag threshold in bytes");
  cmd->add_option("--max-lag-seconds", args->max_lag_seconds, "lag threshold in seconds")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--stale-slot-bytes", args->stale_slot_bytes,
                  "an inactive slot retaining more WAL than this is stale");
  cmd->callback([args] {
    WarnIfPasswordInArgument("--source", args->source);
    WarnIfPasswordInArgument("--target", args->target);
    Run(*args);
  });
}

}  // namespace pgshift::cli
