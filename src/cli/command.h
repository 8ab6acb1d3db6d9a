// The pgshift command's subcommands register themselves on the CLI11 app through these
// functions, one file per subcommand. Exceptions stop here: library code returns Status,
// and a command turns a failed Status into a message on stderr and a non-zero exit.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "common/status.h"

namespace pgshift::cli {

struct GlobalOptions {
  std::string store_path;  // --store or PGSHIFT_STORE
  bool json = false;
  // --server URL: migrate and cluster commands act through a pgshift server's API.
  std::string server_url;
  std::string token_file;  // --token-file or PGSHIFT_TOKEN_FILE
  std::string ca_file;     // --ca-file: the CA of an https:// server
};

// Exit codes: 0 done, 1 the migration failed or was rolled back on an error (or the server
// could not be reached), 2 bad input (unknown name, refused request).
constexpr int kBadInput = 2;
int ExitCodeFor(const Status& status);

// Thrown by a command to end the process with `code` after printing `status` on stderr.
struct CommandFailed {
  Status status;
  int exit_code = 1;
};

// Throws CommandFailed for a non-ok status.
void OrFail(const Status& status, int exit_code = 1);
template <typename T>
T OrFail(Result<T> r, int exit_code = 1) {
  OrFail(r.status(), exit_code);
  return std::move(r).value();
}

// Prints a warning on stderr when `conninfo` (given as `flag`, e.g. "--source") holds a
// password: the command line is public on this host. The password itself is never printed.
void WarnIfPasswordInArgument(const std::string& flag, const std::string& conninfo);

void AddCheckCommand(CLI::App& app, GlobalOptions& global);
void AddMigrateCommands(CLI::App& app, GlobalOptions& global);
// --server, --token-file, --ca-file (and a refused --token) on the top-level app.
void AddServerOptions(CLI::App& app, GlobalOptions& global);
// Whether the command line asks for a server (`--server` before the command, or anywhere in a
// migrate or cluster command): then the migrate commands are the remote ones.
bool ServerRequested(int argc, char** argv);
void AddRemoteMigrateCommands(CLI::App& app, GlobalOptions& global);
void AddClusterCommands(CLI::App& app, GlobalOptions& global);
void AddCampaignCommands(CLI::App& app, GlobalOptions& global);
void AddDemoCommand(CLI::App& app, GlobalOptions& global);
void AddProxyCommand(CLI::App& app, GlobalOptions& global);
void AddSlotsCommand(CLI::App& app, GlobalOptions& global);
void AddServerCommand(CLI::App& app, GlobalOptions& global);

}  // namespace pgshift::cli
