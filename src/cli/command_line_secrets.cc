// Warnings about secrets the command line exposes: a password inside a conninfo argument is
// visible to every local user in `ps` for as long as pgshift runs.
#include <iostream>

#include "cli/command.h"
#include "pg/conninfo.h"

namespace pgshift::cli {

void WarnIfPasswordInArgument(const std::string& flag, const std::string& conninfo) {
  auto info = ConnInfo::Parse(conninfo, flag);
  if (!info.ok() || info->Get("password").empty()) return;  // a bad one fails where it is used
  std::cerr << "pgshift: warning: the password in " << flag
            << " is visible to every local user (ps) while pgshift runs; give it in a password "
               "file instead: passfile=FILE in the conninfo, PGPASSFILE, or ~/.pgpass\n";
}

}  // namespace pgshift::cli
