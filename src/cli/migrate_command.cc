// Placeholder registration for `pgshift migrate` until its component lands.
#include "cli/command.h"

namespace pgshift::cli {

void AddMigrateCommands(CLI::App& app, GlobalOptions&) {
  app.add_subcommand("migrate", "(not yet available)")->callback([] {
    OrFail(FailedPrecondition("'pgshift migrate' is not built yet"));
  });
}

}  // namespace pgshift::cli
