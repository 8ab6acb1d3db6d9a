// Placeholder registration for `pgshift demo` until its component lands.
#include "cli/command.h"

namespace pgshift::cli {

void AddDemoCommand(CLI::App& app, GlobalOptions&) {
  app.add_subcommand("demo", "(not yet available)")->callback([] {
    OrFail(FailedPrecondition("'pgshift demo' is not built yet"));
  });
}

}  // namespace pgshift::cli
