// `pgshift proxy --config FILE`: runs the data access layer until SIGINT or SIGTERM.
// Prints one line "listening on HOST:PORT admin HOST:PORT" on stdout once both ports accept
// connections (scripts and tests wait for it).
#include <signal.h>

#include <iostream>

#include "cli/command.h"
#include "proxy/proxy_config.h"
#include "proxy/proxy_server.h"

namespace pgshift::cli {

void AddProxyCommand(CLI::App& app, GlobalOptions&) {
  auto* cmd = app.add_subcommand("proxy", "Run the PostgreSQL-protocol proxy (data access layer)");
  auto config_path = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path, "Proxy configuration file (see docs/proxy.md)")
      ->required();
  cmd->callback([config_path] {
    // Block the stop signals before any thread starts so that only sigwait sees them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    signal(SIGPIPE, SIG_IGN);
    proxy::ProxyConfig config = OrFail(proxy::LoadProxyConfig(*config_path));
    auto server = OrFail(proxy::ProxyServer::Start(config));
    std::cout << "listening on " << config.listen_host << ":" << server->port() << " admin "
              << config.admin_host << ":" << server->admin_port() << std::endl;
    int sig = 0;
    sigwait(&stop, &sig);
    server->Stop();
  });
}

}  // namespace pgshift::cli
