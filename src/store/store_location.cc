// The choice between the embedded file and a PostgreSQL database.
#include "store/store_location.h"

#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace pgshift {

bool IsPostgresLocation(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0 ||
         location.find("host=") != std::string::npos;
}

Result<OpenedStore> OpenMigrationStore(const std::string& location,
                                       const StoreLocationOptions& options) {
  OpenedStore out;
  if (IsPostgresLocation(location)) {
    ASSIGN_OR_RETURN(auto postgres, PostgresStore::Open(location, options.postgres_schema));
    out.control = postgres.get();
    out.store = std::move(postgres);
    return out;
  }
  ASSIGN_OR_RETURN(auto sqlite, SqliteStore::Open(location));
  out.warnings = sqlite->warnings();
  out.control = sqlite.get();
  out.store = std::move(sqlite);
  return out;
}

}  // namespace pgshift
