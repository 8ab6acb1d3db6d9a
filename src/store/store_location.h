// Which store a location names, in one place: the CLI and `pgshift server` hand their
// --store value (or the server config's `store =`) here and get the store behind it, with
// both of its interfaces (MigrationStore, and the ControlStore the server needs).
//
//   postgresql://... or postgres://...   PostgresStore (a libpq URI)
//   anything containing host=            PostgresStore (libpq key=value pairs)
//   anything else                        SqliteStore (a file path)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/control_store.h"
#include "store/migration_store.h"

namespace pgshift {

struct StoreLocationOptions {
  // The schema a PostgreSQL store keeps its tables in (ignored for a file).
  std::string postgres_schema = "pgshift";
};

struct OpenedStore {
  std::unique_ptr<MigrationStore> store;
  // The same object as a ControlStore (every store a location names implements both).
  ControlStore* control = nullptr;
  // What the operator should hear but that does not stop the store (e.g. a store file others
  // may read); never a secret.
  std::vector<std::string> warnings;
};

// True when `location` names a PostgreSQL database rather than a file.
bool IsPostgresLocation(const std::string& location);

// Opens the store `location` names, creating or upgrading its schema. The errors are the
// chosen store's own (SqliteStore::Open, PostgresStore::Open): they name the place, never a
// password.
Result<OpenedStore> OpenMigrationStore(const std::string& location,
                                       const StoreLocationOptions& options = {});

}  // namespace pgshift
