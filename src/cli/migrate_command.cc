// `pgshift migrate start|run|status|cutover|rollback|list`.
#include <cstdlib>
#include <iostream>

#include "cli/command.h"
#include "cli/status_text.h"
#include "common/clock.h"
#include "store/store_location.h"
#include "workflow/migration_control.h"
#include "workflow/router_spec.h"

namespace pgshift::cli {
namespace {

std::unique_ptr<MigrationStore> OpenStore(const GlobalOptions& g) {
  const char* from_env = std::getenv("PGSHIFT_STORE");  // the environment is not public
  if (IsPostgresLocation(g.store_path) && !(from_env && g.store_path == from_env)) {
    WarnIfPasswordInArgument("--store", g.store_path);
  }
  auto s = OpenMigrationStore(g.store_path);
  if (!s.ok()) throw CommandFailed{s.status(), kBadInput};
  for (const std::string& w : s->warnings) std::cerr << "pgshift: warning: " << w << "\n";
  return std::move(s->store);
}

void PrintStatus(const nlohmann::json& s, bool json) {
  if (json) {
    std::cout << s.dump(2) << "\n";
  } else {
    std::cout << MigrationStatusText(s);
  }
}

std::unique_ptr<ProgressSink> ProgressFor(bool json) {
  return json ? MakeJsonProgress(stdout) : MakeTerminalProgress(stdout);
}

// Runs the migration here, or follows the process that already runs it; prints where it ended
// and ends the command with its outcome.
void RunOrFollow(MigrationControl& control, const std::string& name, const RunRequest& request,
                 bool json) {
  auto progress = ProgressFor(json);
  auto report = control.Run(name, request, *progress, [&](const std::string&) {
    if (!json) std::cout << "another pgshift process runs " << name << "; following it\n";
  });
  if (!report.ok()) throw CommandFailed{report.status(), kBadInput};
  PrintStatus(report->status, json);
  if (!report->outcome.ok()) {
    throw CommandFailed{report->outcome, ExitCodeFor(report->outcome)};
  }
}

void AddStart(CLI::App& m, GlobalOptions& g) {
  auto* cmd = m.add_subcommand("start", "record a new migration (validates, changes nothing)");
  auto req = std::make_shared<StartRequest>();
  auto opt = std::make_shared<std::map<std::string, double>>();
  auto proxy_admins = std::make_shared<std::vector<std::string>>();
  auto proxy_token = std::make_shared<std::string>();
  auto proxy_cluster = std::make_shared<std::string>();
  auto route_file = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  auto port = std::make_shared<int>(0);
  cmd->add_option("name", req->name, "migration name")->required();
  cmd->add_option("--source", req->source, "source conninfo (a superuser)")->required();
  cmd->add_option("--target", *target, "conninfo of an existing physical replica of the source");
  cmd->add_option("--create-target", *dir, "build the replica here with pg_basebackup (local)");
  cmd->add_option("--target-port", *port, "port for the built replica (default: a free one)");
  cmd->add_flag("--auto-cutover", req->options.auto_cutover, "cut over once every gate is green");
  cmd->add_flag("--rollback-keeps-target-writes", req->options.rollback_keeps_target_writes,
                "on rollback after promotion, rewind the old source behind the new primary");
  for (const char* k :
       {"check-window", "max-lag-seconds", "fence-deadline", "drain-timeout", "cdc-timeout",
        "cdc-catch-up-timeout", "pause-deadline", "pause-lease", "validate-timeout"}) {
    cmd->add_option(std::string("--") + k, (*opt)[k], std::string(k) + " in seconds")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  cmd->add_option("--max-lag-bytes", req->options.max_lag_bytes, "lag gate threshold in bytes");
  cmd->add_option("--fence-command", req->options.fence_command,
                  "shell command fencing the source");
  cmd->add_option("--unfence-command", req->options.unfence_command, "undoes --fence-command");
  cmd->add_option("--target-fence-command", req->options.target_fence_command,
                  "shell command making the target read-only for every client but the proxies "
                  "from before its promotion until its slots exist (external targets; I8)");
  cmd->add_option("--target-unfence-command", req->options.target_unfence_command,
                  "undoes --target-fence-command");
  cmd->add_option("--direct-clients", req->options.direct_clients,
                  "clients connected to the source outside the proxies: warn (default) or "
                  "block the cutover")
      ->check(CLI::IsMember({"warn", "block"}));
  cmd->add_option("--route-file", *route_file, "JSON route file clients read (no proxy)");
  cmd->add_option("--proxy-admin", *proxy_admins, "admin host:port of a pgshift proxy (repeat)");
  cmd->add_option("--proxy-token-file", *proxy_token, "file holding the proxies' admin token");
  cmd->add_option("--proxy-cluster", *proxy_cluster, "the proxies' cluster (logical database)");
  cmd->callback([=, &g] {
    WarnIfPasswordInArgument("--source", req->source);
    WarnIfPasswordInArgument("--target", *target);
    if (!target->empty()) req->target = *target;
    if (!dir->empty()) req->create_target_dir = *dir;
    if (*port) req->target_port = *port;
    auto ms = [&](const char* k, std::chrono::milliseconds& out) {
      if (opt->count(k) && (*opt)[k] > 0)
        out = std::chrono::milliseconds(int64_t((*opt)[k] * 1000));
    };
    MigrationSpec& o = req->options;
    ms("check-window", o.check_window);
    ms("fence-deadline", o.fence_deadline);
    ms("drain-timeout", o.drain_timeout);
    ms("cdc-timeout", o.cdc_timeout);
    ms("cdc-catch-up-timeout", o.cdc_catch_up_timeout);
    ms("pause-deadline", o.pause_deadline);
    ms("pause-lease", o.pause_lease);
    ms("validate-timeout", o.validate_timeout);
    if (opt->count("max-lag-seconds") && (*opt)["max-lag-seconds"] > 0) {
      o.max_lag_seconds = (*opt)["max-lag-seconds"];
    }
    RouterSpec routing = OrFail(RouterSpec::FromOptions({.proxy_admins = *proxy_admins,
                                                         .proxy_token_file = *proxy_token,
                                                         .proxy_cluster = *proxy_cluster,
                                                         .route_file = *route_file}),
                                kBadInput);
    o.router = routing.ToJson();
    if (o.fence_command.has_value() != o.unfence_command.has_value()) {
      OrFail(InvalidArgument("--fence-command and --unfence-command go together"), kBadInput);
    }
    if (o.target_fence_command.has_value() != o.target_unfence_command.has_value()) {
      OrFail(InvalidArgument("--target-fence-command and --target-unfence-command go together"),
             kBadInput);
    }
    auto store = OpenStore(g);
    MigrationControl control(*store, Clock::Real());
    auto spec = control.Start(*req);
    if (!spec.ok()) throw CommandFailed{spec.status(), ExitCodeFor(spec.status())};
    if (g.json) {
      std::cout << nlohmann::json{{"name", spec->name}, {"spec", spec->ToPublicJson()}}.dump(2)
                << "\n";
    } else {
      std::cout << "migration " << spec->name << " recorded: " << spec->source.Label() << " -> "
                << spec->target.Label() << "\nnext: pgshift migrate run " << spec->name << "\n";
    }
  });
}

}  // namespace

void AddMigrateCommands(CLI::App& app, GlobalOptions& g) {
  auto* m = app.add_subcommand("migrate", "start, run, watch, cut over and roll back migrations");
  m->require_subcommand(1);
  m->add_flag("--json", g.json, "machine-readable output");
  AddStart(*m, g);

  auto name = std::make_shared<std::string>();
  auto run = m->add_subcommand("run", "run or resume the migration (waits at the cutover gate)");
  auto auto_cutover = std::make_shared<bool>(false);
  auto no_wait = std::make_shared<bool>(false);
  run->add_option("name", *name)->required();
  run->add_flag("--auto-cutover", *auto_cutover, "go on through the cutover when gates are green");
  run->add_flag("--no-wait", *no_wait, "return at the cutover gate instead of waiting");
  run->add_flag("--json", g.json, "JSON lines progress");
  run->callback([=, &g] {
    auto store = OpenStore(g);
    MigrationControl control(*store, Clock::Real());
    RunOrFollow(control, *name, {.auto_cutover = *auto_cutover, .wait_at_gate = !*no_wait}, g.json);
  });

  auto status = m->add_subcommand("status", "where a migration stands");
  status->add_option("name", *name)->required();
  status->add_flag("--json", g.json, "JSON output");
  status->callback([=, &g] {
    auto store = OpenStore(g);
    MigrationControl control(*store, Clock::Real());
    PrintStatus(OrFail(control.StatusJson(*name), kBadInput), g.json);
  });

  auto cutover = m->add_subcommand("cutover", "run the cutover now and wait for its outcome");
  cutover->add_option("name", *name)->required();
  cutover->add_flag("--json", g.json, "JSON output");
  cutover->callback([=, &g] {
    auto store = OpenStore(g);
    MigrationControl control(*store, Clock::Real());
    OrFail(control.RequestCutover(*name), kBadInput);
    RunOrFollow(control, *name, {.wait_at_gate = true}, g.json);
  });

  auto keep = std::make_shared<bool>(false);
  auto rollback = m->add_subcommand("rollback", "return to the source");
  rollback->add_option("name", *name)->required();
  rollback->add_flag("--keep-target-writes", *keep,
                     "after promotion: rewind the old source behind the new primary first");
  rollback->add_flag("--json", g.json, "JSON output");
  rollback->callback([=, &g] {
    auto store = OpenStore(g);
    MigrationControl control(*store, Clock::Real());
    OrFail(control.RequestRollback(*name, {.keep_target_writes = *keep}), kBadInput);
    RunOrFollow(control, *name, {.wait_at_gate = true}, g.json);
  });

  auto list = m->add_subcommand("list", "every migration in the store");
  list->add_flag("--json", g.json, "JSON output");
  list->callback([&g] {
    auto store = OpenStore(g);
    MigrationControl control(*store, Clock::Real());
    auto all = OrFail(control.List());
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : all) out.push_back(r.ToJson());
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << MigrationListText(all, store->Location());  // no password
  });
}

}  // namespace pgshift::cli
