// `pgshift demo`: the main job, with a live progress display and a report. `pgshift demo
// --serve`: the platform demo (demo/platform_demo.h), serving until SIGINT or SIGTERM.
#include "demo/demo_command.h"

#include <csignal>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "demo/platform_demo.h"

namespace pgshift::cli {
namespace {

std::atomic<bool> g_stop_serving{false};

void StopServing(int) { g_stop_serving = true; }

// The platform demo until SIGINT/SIGTERM, which end it cleanly (servers, load, clusters).
void Serve(demo::PlatformDemoOptions options) {
  std::error_code ec;
  options.binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) OrFail(Unavailable("cannot find this pgshift binary (/proc/self/exe)"));
  struct sigaction sa {};
  sa.sa_handler = StopServing;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  auto progress = MakeTerminalProgress(stderr);
  OrFail(demo::RunPlatformDemo(options, std::cout, *progress, g_stop_serving));
  std::cout << "stopped\n";
}

}  // namespace

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
  auto serve = std::make_shared<bool>(false);
  auto listen = std::make_shared<std::string>("127.0.0.1:0");
  cmd->add_flag("--serve", *serve,
                "the platform: three clusters of two teams migrated through pgshift server; "
                "prints the page's address and tokens, serves until Ctrl-C");
  cmd->add_option("--listen", *listen,
                  "with --serve: the server's HOST:PORT (default: a free port)");
  cmd->callback([opts, direct, serve, listen, &g] {
    if (*serve) {
      Serve({.dir = opts->dir,
             .keep = opts->keep,
             .listen = *listen,
             .check_window_s = opts->check_window_s});
      return;
    }
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
