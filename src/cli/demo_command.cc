// `pgshift demo`: the main job, with a live progress display and a report.
#include "demo/demo_command.h"

#include <iostream>

#include "cli/command.h"

namespace pgshift::cli {

void AddDemoCommand(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("demo", "migrate a live local cluster under load and report");
  auto opts = std::make_shared<demo::DemoOptions>();
  cmd->add_flag("--json", g.json, "print the report as one JSON object");
  cmd->add_option("--dir", opts->dir, "work directory (default: a new one under /tmp)");
  cmd->add_flag("--keep", opts->keep, "leave the clusters running and the files in place");
  auto direct = std::make_shared<bool>(false);
  cmd->add_flag("--direct", *direct, "applications connect directly, not through the proxy");
  cmd->add_option("--scale", opts->pgbench_scale, "pgbench scale factor")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--clients", opts->pgbench_clients, "pgbench clients")->check(CLI::Range(1, 64));
  cmd->add_option("--check-window", opts->check_window_s, "seconds the lag gate judges")
      ->check(CLI::Range(1, 600));
  cmd->callback([opts, direct, &g] {
    opts->through_proxy = !*direct;
    // Progress goes to stderr so that --json leaves stdout to the report alone.
    auto progress = MakeTerminalProgress(stderr);
    auto report = demo::RunDemo(*opts, *progress);
    OrFail(report.status());
    if (g.json) {
      std::cout << report->dump(2) << "\n";
    } else {
      std::cout << demo::DemoReportText(*report);
    }
    if (report->value("status", "") != "completed") {
      throw CommandFailed{FailedPrecondition("the demo migration did not complete"), 1};
    }
  });
}

}  // namespace pgshift::cli
