// Placeholder registration for `pgshift proxy` until its component lands.
#include "cli/command.h"

namespace pgshift::cli {

void AddProxyCommand(CLI::App& app, GlobalOptions&) {
  app.add_subcommand("proxy", "(not yet available)")->callback([] {
    OrFail(FailedPrecondition("'pgshift proxy' is not built yet"));
  });
}

}  // namespace pgshift::cli
