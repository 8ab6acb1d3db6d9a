// `pgshift --server URL migrate start|run|status|cutover|rollback|list|cancel`: the migrate
// commands through a pgshift server's API, with the local commands' output forms (text, or
// --json) and exit codes. The server drives the migration; `run`, `cutover` and `rollback`
// follow it (remote_follow.h) the way the local commands follow their own engine.
#include <iostream>

#include "cli/command.h"
#include "cli/remote_follow.h"
#include "cli/remote_session.h"
#include "cli/remote_text.h"
#include "cli/status_text.h"
#include "migration/phase.h"

namespace pgshift::cli {
namespace {

void PrintMigration(const nlohmann::json& m, bool json) {
  if (json) {
    std::cout << m.dump(2) << "\n";
  } else {
    std::cout << MigrationStatusText(m);
  }
}

std::unique_ptr<ProgressSink> ProgressFor(bool json) {
  return json ? MakeJsonProgress(stdout) : MakeTerminalProgress(stdout);
}

nlohmann::json GetMigration(const ServerClient& client, const std::string& name) {
  return OrFailApi(client.Get(ApiPath("/v1/migrations/", name))).body;
}

nlohmann::json EventsOf(const nlohmann::json& m) {
  return m.value("events", nlohmann::json::array());
}

// Whether the server says `action` is possible now ("actions" of the migration's JSON).
bool Allowed(const nlohmann::json& m, const char* action) {
  return m.contains("actions") && m["actions"].is_object() && m["actions"].value(action, false);
}

bool BeforeTheGate(const nlohmann::json& m) {
  Phase p = Phase::kCreated;
  (void)ParsePhaseName(m.value("phase", ""), &p);
  return p == Phase::kCreated || p == Phase::kReplicating || p == Phase::kValidating;
}

struct DriveRequest {
  bool cutover = false;      // cut over when the gates allow (now, or once at the gate)
  bool wait_at_gate = true;  // false: return at the gate
};

// Has the server drive the migration (start it if it is not driven), requests the cutover
// when asked, follows it, prints where it ended and ends the command with its outcome, as
// the local RunOrFollow does.
void Drive(const ServerClient& client, const std::string& name, const DriveRequest& request,
           bool json) {
  nlohmann::json before = GetMigration(client, name);
  const bool restart_failed = before.value("phase", "") == "failed" && Allowed(before, "start");
  if (Allowed(before, "start")) {
    OrFailApi(client.Post(ApiPath("/v1/migrations/", name, "/start")));
  } else if (!json && !request.cutover) {
    std::cout << "the server drives " << name << "; following it\n";
  }
  bool cutover_at_gate = false;
  if (request.cutover) {
    if (BeforeTheGate(before)) {
      cutover_at_gate = true;  // asked for once it waits at the gate
    } else {
      OrFailApi(client.Post(ApiPath("/v1/migrations/", name, "/cutover")));
    }
  }
  auto progress = ProgressFor(json);
  auto report = FollowMigration(client, name,
                                {.wait_at_gate = request.wait_at_gate,
                                 .events_before = EventsOf(before),
                                 .cutover_at_gate = cutover_at_gate,
                                 .failed_is_stale = restart_failed},
                                *progress);
  if (!report.ok()) FailApiCall(report.status());
  PrintMigration(report->migration, json);
  if (!report->outcome.ok()) {
    throw CommandFailed{report->outcome, ExitCodeFor(report->outcome)};
  }
}

// Flags of the local `migrate start` that the cluster's registration replaces on a server.
void RefuseLocalStartFlags(CLI::App& cmd) {
  for (const char* flag :
       {"--source", "--target", "--create-target", "--target-port", "--route-file", "--proxy-admin",
        "--proxy-token-file", "--proxy-cluster", "--fence-command", "--unfence-command"}) {
    std::string f = flag;
    cmd.add_option_function<std::string>(
           f,
           [f](const std::string&) {
             throw CommandFailed{
                 InvalidArgument(
                     f +
                     " is for the local command; with --server the cluster's registration says "
                     "where the source, target and proxies are: register it with `pgshift "
                     "--server URL cluster register --file cluster.json` and give --cluster NAME"),
                 kBadInput};
           },
           "local only")
        ->group("");
  }
}

void AddStart(CLI::App& m, GlobalOptions& g) {
  auto* cmd = m.add_subcommand("start", "record a new migration of a registered cluster");
  auto name = std::make_shared<std::string>();
  auto cluster = std::make_shared<std::string>();
  auto auto_cutover = std::make_shared<bool>(false);
  auto keep_writes = std::make_shared<bool>(false);
  auto seconds = std::make_shared<std::map<std::string, double>>();
  auto max_lag_bytes = std::make_shared<int64_t>(0);
  cmd->add_option("name", *name, "migration name")->required();
  cmd->add_option("--cluster", *cluster, "the registered cluster to migrate")->required();
  cmd->add_flag("--auto-cutover", *auto_cutover, "cut over once every gate is green");
  cmd->add_flag("--rollback-keeps-target-writes", *keep_writes,
                "on rollback after promotion, rewind the old source behind the new primary");
  // Option names on the API: the flag's, with '_' for '-' and "_s" for seconds.
  for (const char* k :
       {"check-window", "max-lag-seconds", "fence-deadline", "drain-timeout", "cdc-timeout",
        "cdc-catch-up-timeout", "pause-deadline", "validate-timeout"}) {
    cmd->add_option(std::string("--") + k, (*seconds)[k], std::string(k) + " in seconds")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  cmd->add_option("--max-lag-bytes", *max_lag_bytes, "lag gate threshold in bytes");
  RefuseLocalStartFlags(*cmd);
  cmd->callback([=, &g] {
    nlohmann::json options = nlohmann::json::object();
    for (const auto& [k, v] : *seconds) {
      if (v <= 0) continue;
      std::string key = k;
      for (char& c : key) c = c == '-' ? '_' : c;
      options[key == "max_lag_seconds" ? key : key + "_s"] = v;
    }
    if (*max_lag_bytes > 0) options["max_lag_bytes"] = *max_lag_bytes;
    if (*auto_cutover) options["auto_cutover"] = true;
    if (*keep_writes) options["rollback_keeps_target_writes"] = true;
    ServerClient client = ConnectToServer(g);
    ApiAnswer a =
        OrFailApi(client.Post("/v1/migrations",
                              {{"name", *name}, {"cluster", *cluster}, {"options", options}}),
                  kExitForStatus);
    if (g.json) {
      std::cout << a.body.dump(2) << "\n";
      return;
    }
    std::cout << "migration " << a.body.value("name", *name) << " recorded for cluster "
              << a.body.value("cluster", *cluster) << ": " << a.body.value("source", "-") << " -> "
              << a.body.value("target", "-") << "\nnext: pgshift --server "
              << client.url().ToString() << " migrate run " << *name << "\n";
  });
}

}  // namespace

void AddRemoteMigrateCommands(CLI::App& app, GlobalOptions& g) {
  auto* m = app.add_subcommand("migrate",
                               "start, run, watch, cut over and roll back migrations "
                               "through the server given with --server");
  m->require_subcommand(1);
  m->add_flag("--json", g.json, "machine-readable output");
  AddStart(*m, g);

  auto name = std::make_shared<std::string>();
  auto run = m->add_subcommand(
      "run", "have the server run the migration and follow it (waits at the cutover gate)");
  auto auto_cutover = std::make_shared<bool>(false);
  auto no_wait = std::make_shared<bool>(false);
  run->add_option("name", *name)->required();
  run->add_flag("--auto-cutover", *auto_cutover, "go on through the cutover when gates are green");
  run->add_flag("--no-wait", *no_wait, "return at the cutover gate instead of waiting");
  run->add_flag("--json", g.json, "JSON lines progress");
  run->callback([=, &g] {
    ServerClient client = ConnectToServer(g);
    Drive(client, *name, {.cutover = *auto_cutover, .wait_at_gate = !*no_wait}, g.json);
  });

  auto status = m->add_subcommand("status", "where a migration stands");
  status->add_option("name", *name)->required();
  status->add_flag("--json", g.json, "JSON output");
  status->callback([=, &g] {
    ServerClient client = ConnectToServer(g);
    PrintMigration(GetMigration(client, *name), g.json);
  });

  auto cutover = m->add_subcommand("cutover", "have the server cut over now; wait for the outcome");
  cutover->add_option("name", *name)->required();
  cutover->add_flag("--json", g.json, "JSON output");
  cutover->callback([=, &g] {
    ServerClient client = ConnectToServer(g);
    Drive(client, *name, {.cutover = true}, g.json);
  });

  auto keep = std::make_shared<bool>(false);
  auto rollback = m->add_subcommand("rollback", "have the server return to the source");
  rollback->add_option("name", *name)->required();
  rollback->add_flag("--keep-target-writes", *keep,
                     "after promotion: rewind the old source behind the new primary first");
  rollback->add_flag("--json", g.json, "JSON output");
  rollback->callback([=, &g] {
    ServerClient client = ConnectToServer(g);
    nlohmann::json seen = EventsOf(GetMigration(client, *name));
    OrFailApi(client.Post(ApiPath("/v1/migrations/", *name, "/rollback"),
                          {{"keep_target_writes", *keep}}));
    auto progress = ProgressFor(g.json);
    auto report = FollowMigration(client, *name, {.events_before = seen}, *progress);
    if (!report.ok()) FailApiCall(report.status());
    PrintMigration(report->migration, g.json);
    if (!report->outcome.ok()) {
      throw CommandFailed{report->outcome, ExitCodeFor(report->outcome)};
    }
  });

  auto cancel = m->add_subcommand("cancel", "have the server stop driving the migration");
  cancel->add_option("name", *name)->required();
  cancel->add_flag("--json", g.json, "JSON output");
  cancel->callback([=, &g] {
    ServerClient client = ConnectToServer(g);
    OrFailApi(client.Post(ApiPath("/v1/migrations/", *name, "/cancel")));
    PrintMigration(GetMigration(client, *name), g.json);
  });

  auto filters = std::make_shared<std::map<std::string, std::string>>();
  auto list = m->add_subcommand("list", "the migrations the token may see");
  list->add_flag("--json", g.json, "JSON output");
  for (const char* f : {"team", "phase", "state", "cluster"}) {
    list->add_option(std::string("--") + f, (*filters)[f], std::string("only this ") + f);
  }
  list->callback([=, &g] {
    ServerClient client = ConnectToServer(g);
    PrintRemoteList(client, g.json, "/v1/migrations", *filters, "migrations",
                    RemoteMigrationListText);
  });
}

}  // namespace pgshift::cli
