// `pgshift migrate start|run|status|cutover|rollback|list`.
#include <unistd.h>

#include <iostream>
#include <thread>

#include "cli/command.h"
#include "common/clock.h"
#include "store/sqlite_store.h"
#include "workflow/engine.h"
#include "workflow/migration_status.h"
#include "workflow/start_migration.h"

namespace pgshift::cli {
namespace {

// Exit codes: 0 done, 1 the migration failed or was rolled back on an error, 2 bad input.
constexpr int kBadInput = 2;

int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kUnauthenticated:
    case Code::kPermissionDenied:
      return kBadInput;
    default:
      return 1;
  }
}

std::unique_ptr<MigrationStore> OpenStore(const GlobalOptions& g) {
  auto s = SqliteStore::Open(g.store_path);
  if (!s.ok()) throw CommandFailed{s.status(), kBadInput};
  return std::move(s).value();
}

nlohmann::json StatusOf(MigrationStore& store, const std::string& name) {
  auto r = store.Get(name);
  if (!r.ok()) throw CommandFailed{r.status(), kBadInput};
  auto ev = store.Events(name);
  if (!ev.ok()) throw CommandFailed{ev.status(), 1};
  return MigrationStatusJson(*r, *ev);
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

// Runs the engine here, or, if another process already runs it, waits for that one to reach
// a terminal phase. Ends the command with the migration's outcome.
void RunOrFollow(MigrationStore& store, const std::string& name, bool json, bool wait_at_gate) {
  auto progress = ProgressFor(json);
  Engine engine(store, Clock::Real(), *progress);
  auto phase = engine.Run(name, {.wait_at_gate = wait_at_gate});
  if (phase.ok() && phase->kind == TurnOutcome::Kind::kHeldElsewhere) {
    if (!json) std::cout << "another pgshift process runs " << name << "; following it\n";
    // Until the other runner ends it, or its lease lapses (or it dies here): then run it.
    while (phase.ok() && phase->kind == TurnOutcome::Kind::kHeldElsewhere) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto s = StatusOf(store, name);
      std::string state = s.value("state", "");
      if (state == "completed" || state == "rolled_back" || state == "failed") break;
      phase = engine.Run(name, {.wait_at_gate = wait_at_gate});
    }
  }
  if (!phase.ok()) {
    auto s = StatusOf(store, name);
    PrintStatus(s, json);
    throw CommandFailed{phase.status(), ExitCodeFor(phase.status())};
  }
  auto s = StatusOf(store, name);
  PrintStatus(s, json);
  std::string state = s.value("state", "");
  if (state == "failed" || (state == "rolled_back" && !s.value("rollback_requested", false))) {
    throw CommandFailed{
        FailedPrecondition(
            name + " is " + state + ": " +
            s.value("rollback_reason",
                    s["events"].empty() ? std::string() : s["events"].back().value("reason", ""))),
        1};
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
  for (const char* k : {"check-window", "max-lag-seconds", "fence-deadline", "drain-timeout",
                        "cdc-timeout", "pause-deadline", "pause-lease", "validate-timeout"}) {
    cmd->add_option(std::string("--") + k, (*opt)[k], std::string(k) + " in seconds")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  cmd->add_option("--max-lag-bytes", req->options.max_lag_bytes, "lag gate threshold in bytes");
  cmd->add_option("--fence-command", req->options.fence_command,
                  "shell command fencing the source");
  cmd->add_option("--unfence-command", req->options.unfence_command, "undoes --fence-command");
  cmd->add_option("--route-file", *route_file, "JSON route file clients read (no proxy)");
  cmd->add_option("--proxy-admin", *proxy_admins, "admin host:port of a pgshift proxy (repeat)");
  cmd->add_option("--proxy-token-file", *proxy_token, "file holding the proxies' admin token");
  cmd->add_option("--proxy-cluster", *proxy_cluster, "the proxies' cluster (logical database)");
  cmd->callback([=, &g] {
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
    ms("pause-deadline", o.pause_deadline);
    ms("pause-lease", o.pause_lease);
    ms("validate-timeout", o.validate_timeout);
    if (opt->count("max-lag-seconds") && (*opt)["max-lag-seconds"] > 0) {
      o.max_lag_seconds = (*opt)["max-lag-seconds"];
    }
    if (!proxy_admins->empty()) {
      if (proxy_token->empty() || proxy_cluster->empty()) {
        OrFail(InvalidArgument("--proxy-admin needs --proxy-token-file and --proxy-cluster"),
               kBadInput);
      }
      nlohmann::json proxies = nlohmann::json::array();
      for (const auto& a : *proxy_admins)
        proxies.push_back({{"admin", a}, {"token_file", *proxy_token}});
      o.router = {{"kind", "proxy"}, {"cluster", *proxy_cluster}, {"proxies", proxies}};
    } else if (!route_file->empty()) {
      o.router = {{"kind", "file"}, {"path", *route_file}};
    }
    if (o.fence_command.has_value() != o.unfence_command.has_value()) {
      OrFail(InvalidArgument("--fence-command and --unfence-command go together"), kBadInput);
    }
    auto store = OpenStore(g);
    auto spec = StartMigration(*store, *req, Clock::Real());
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
    if (*auto_cutover)
      OrFail(store->RequestCutover(*name, Clock::Real().WallSeconds()), kBadInput);
    else
      OrFail(store->Get(*name).status(), kBadInput);
    RunOrFollow(*store, *name, g.json, !*no_wait);
  });

  auto status = m->add_subcommand("status", "where a migration stands");
  status->add_option("name", *name)->required();
  status->add_flag("--json", g.json, "JSON output");
  status->callback([=, &g] {
    auto store = OpenStore(g);
    PrintStatus(StatusOf(*store, *name), g.json);
  });

  auto cutover = m->add_subcommand("cutover", "run the cutover now and wait for its outcome");
  cutover->add_option("name", *name)->required();
  cutover->add_flag("--json", g.json, "JSON output");
  cutover->callback([=, &g] {
    auto store = OpenStore(g);
    auto s = StatusOf(*store, *name);
    std::string phase = s.value("phase", "");
    if (phase != "ready_for_cutover" && phase != "validating" && phase != "replicating" &&
        phase != "created" && s.value("state", "") != "running") {
      OrFail(FailedPrecondition(*name + " is " + phase + "; a cutover is not possible now"),
             kBadInput);
    }
    OrFail(store->RequestCutover(*name, Clock::Real().WallSeconds()), kBadInput);
    RunOrFollow(*store, *name, g.json, true);
  });

  auto keep = std::make_shared<bool>(false);
  auto rollback = m->add_subcommand("rollback", "return to the source");
  rollback->add_option("name", *name)->required();
  rollback->add_flag("--keep-target-writes", *keep,
                     "after promotion: rewind the old source behind the new primary first");
  rollback->add_flag("--json", g.json, "JSON output");
  rollback->callback([=, &g] {
    auto store = OpenStore(g);
    auto s = StatusOf(*store, *name);
    std::string phase = s.value("phase", "");
    if (phase == "completed" || phase == "rolled_back") {
      OrFail(FailedPrecondition(*name + " is " + phase + "; nothing to roll back"), kBadInput);
    }
    auto rec = store->Get(*name);
    OrFail(rec.status(), kBadInput);
    nlohmann::json patch = nlohmann::json::object();
    if (*keep) patch["rollback_keeps_target_writes"] = true;
    OrFail(store->RequestRollback(*name, patch, Clock::Real().WallSeconds()), kBadInput);
    RunOrFollow(*store, *name, g.json, true);
  });

  auto list = m->add_subcommand("list", "every migration in the store");
  list->add_flag("--json", g.json, "JSON output");
  list->callback([&g] {
    auto store = OpenStore(g);
    auto all = store->List();
    OrFail(all.status());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *all) {
      auto ev = store->Events(r.name);
      auto s = MigrationStatusJson(r, ev.ok() ? *ev : std::vector<EventRecord>{});
      out.push_back({{"name", s["name"]},
                     {"phase", s["phase"]},
                     {"state", s["state"]},
                     {"source", s.value("source", "")},
                     {"target", s.value("target", "")}});
    }
    if (g.json) {
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (out.empty()) std::cout << "no migrations in " << g.store_path << "\n";
    for (const auto& r : out) {
      std::cout << r["name"].get<std::string>() << "  " << r["phase"].get<std::string>() << "  "
                << r["state"].get<std::string>() << "  " << r["source"].get<std::string>() << " -> "
                << r["target"].get<std::string>() << "\n";
    }
  });
}

}  // namespace pgshift::cli
