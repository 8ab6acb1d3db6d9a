// Entry point of the pgshift binary: parses the command line and dispatches.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "cli/command.h"
#include "common/log.h"

namespace pgshift::cli {

void OrFail(const Status& status, int exit_code) {
  if (!status.ok()) throw CommandFailed{status, exit_code};
}

}  // namespace pgshift::cli

int main(int argc, char** argv) {
  using namespace pgshift::cli;
  CLI::App app{"pgshift: move live PostgreSQL clusters with near-zero downtime"};
  app.require_subcommand(1);
  app.fallthrough();
  GlobalOptions global;
  if (const char* s = std::getenv("PGSHIFT_STORE")) global.store_path = s;
  if (global.store_path.empty()) global.store_path = "pgshift.db";
  app.add_option(
      "--store", global.store_path,
      "where migration state lives: a SQLite file, or a PostgreSQL conninfo (postgresql://... "
      "or host=...) for several servers (default: $PGSHIFT_STORE or ./pgshift.db)");
  // A peer closing a socket must be an error return, not the end of the process: the proxy
  // runs in-process in the demo, and TLS writes do not all take MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  pgshift::InitLogging();
  AddCheckCommand(app, global);
  AddServerOptions(app, global);
  if (ServerRequested(argc, argv)) {
    AddRemoteMigrateCommands(app, global);
  } else {
    AddMigrateCommands(app, global);
  }
  AddClusterCommands(app, global);
  AddCampaignCommands(app, global);
  AddDemoCommand(app, global);
  AddProxyCommand(app, global);
  AddSlotsCommand(app, global);
  AddServerCommand(app, global);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const CommandFailed& f) {
    std::cerr << "pgshift: error: " << f.status.message() << "\n";
    return f.exit_code;
  }
  return 0;
}
