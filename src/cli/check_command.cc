// Placeholder registration for `pgshift check` until its component lands.
#include "cli/command.h"

namespace pgshift::cli {

void AddCheckCommand(CLI::App& app, GlobalOptions&) {
  app.add_subcommand("check", "(not yet available)")->callback([] {
    OrFail(FailedPrecondition("'pgshift check' is not built yet"));
  });
}

}  // namespace pgshift::cli
