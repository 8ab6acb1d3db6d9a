// `pgshift server [--config FILE] [--listen HOST:PORT]`: the control plane (docs/server.md),
// until SIGINT or SIGTERM; prints exactly one line on stdout once it accepts connections:
// "listening on http://HOST:PORT". `pgshift server token create --team T [--platform]
// [--name LABEL]`: makes an API token, prints it once, stores only its SHA-256. Both find the
// store like every other command (--store / PGSHIFT_STORE / ./pgshift.db); a config's
// `store =` wins.
#include <signal.h>

#include <iostream>

#include "cli/command.h"
#include "common/clock.h"
#include "server/api_token.h"
#include "server/control_plane_server.h"
#include "server/server_config.h"
#include "store/store_location.h"

namespace pgshift::cli {
namespace {

constexpr int kBadInput = 2;

// A file (SqliteStore) or postgresql://... (PostgresStore, shared by several servers): the
// choice is store_location's.
OpenedStore OpenServerStore(const std::string& location) {
  auto s = OpenMigrationStore(location);
  if (!s.ok()) throw CommandFailed{s.status(), kBadInput};
  for (const std::string& w : s->warnings) std::cerr << "pgshift: warning: " << w << "\n";
  return std::move(s).value();
}

server::ServerConfig LoadConfig(const std::string& path) {
  if (path.empty()) return server::ServerConfig{};
  auto c = server::LoadServerConfig(path);
  if (!c.ok()) throw CommandFailed{c.status(), kBadInput};
  return std::move(c).value();
}

void Serve(const GlobalOptions& g, const std::string& config_path, const std::string& listen) {
  // Block the stop signals before any thread starts so that only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  server::ServerConfig config = LoadConfig(config_path);
  if (!listen.empty()) OrFail(server::ApplyListen(config, listen), kBadInput);
  std::vector<std::string> warnings;
  OrFail(server::ValidateServerConfig(config, config_path.empty() ? "--listen" : config_path,
                                      &warnings),
         kBadInput);
  for (const std::string& w : warnings) std::cerr << "pgshift: warning: " << w << "\n";
  auto store = OpenServerStore(config.store.empty() ? g.store_path : config.store);
  server::ControlPlaneServer srv(config, *store.store, *store.control, Clock::Real());
  OrFail(srv.Start());
  std::cout << "listening on " << srv.url() << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  std::cerr << "pgshift: server: stopping (drivers finish their current step)\n";
  srv.Stop();
}

void CreateToken(const GlobalOptions& g, const std::string& config_path, const std::string& team,
                 bool platform, const std::string& label) {
  server::ServerConfig config = LoadConfig(config_path);
  auto store = OpenServerStore(config.store.empty() ? g.store_path : config.store);
  std::string token = OrFail(server::GenerateApiToken());
  ApiTokenRecord record{server::Sha256Hex(token), team, platform, label.empty() ? team : label, 0};
  OrFail(store.control->AddToken(record, Clock::Real().WallSeconds()));
  std::cout << token << std::endl;
}

}  // namespace

void AddServerCommand(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("server", "Serve the control plane: JSON API and web page");
  auto config_path = std::make_shared<std::string>();
  auto listen = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path, "Server configuration file (see docs/server.md)");
  cmd->add_option("--listen", *listen, "HOST:PORT to listen on (default 127.0.0.1, a free port)");

  auto* token = cmd->add_subcommand("token", "API tokens");
  auto* create = token->add_subcommand("create", "Make a token; prints it once");
  auto team = std::make_shared<std::string>();
  auto platform = std::make_shared<bool>(false);
  auto label = std::make_shared<std::string>();
  create->add_option("--team", *team, "the team the token acts for")->required();
  create->add_flag("--platform", *platform, "the token sees and acts on every team's resources");
  create->add_option("--name", *label, "a label for the audit log (default: the team)");
  create->add_option("--config", *config_path, "Server configuration file (its store = wins)");
  token->require_subcommand(1);
  create->callback([=, &g] { CreateToken(g, *config_path, *team, *platform, *label); });
  cmd->callback([=, &g] {
    if (token->parsed()) return;
    Serve(g, *config_path, *listen);
  });
}

}  // namespace pgshift::cli
