// StartMigration: turns what the operator typed into a recorded migration, after checking
// everything that can be checked without changing anything: both connection strings parse,
// the source answers, a local target directory is free (or an external target is a streaming
// replica of this very source). On any error nothing is recorded.
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "migration/migration_spec.h"
#include "store/migration_store.h"

namespace pgshift {

struct StartRequest {
  std::string name;
  std::string source;                            // conninfo
  std::optional<std::string> target;             // conninfo of the operator's replica (external)
  std::optional<std::string> create_target_dir;  // local: pgshift builds the replica here
  std::optional<int> target_port;
  // Timeouts, thresholds, router, auto_cutover and password references (source_password,
  // target_password): copied into the spec.
  MigrationSpec options;
};

Result<MigrationSpec> StartMigration(MigrationStore& store, const StartRequest& request,
                                     Clock& clock);

}  // namespace pgshift
