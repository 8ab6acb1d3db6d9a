// Placeholder registration for `pgshift slots` until its component lands.
#include "cli/command.h"

namespace pgshift::cli {

void AddSlotsCommand(CLI::App& app, GlobalOptions&) {
  app.add_subcommand("slots", "(not yet available)")->callback([] {
    OrFail(FailedPrecondition("'pgshift slots' is not built yet"));
  });
}

}  // namespace pgshift::cli
