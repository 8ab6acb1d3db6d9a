// MigrationStatus: the public view of a migration, as `migrate status`, `migrate list` and the
// demo report show it (text rendering is the CLI's). Phase display names are made here, at
// the edge; secrets never appear.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/migration_store.h"

namespace pgshift {

// {"name","phase","state","source","target","phases":[{"name","seconds"}],"events":[...],
//  "checks":..., "final_lsn",...}: the recorded facts (MigrationFacts) under their keys; when
// the record's data cannot be read, "data_error" says why instead.
nlohmann::json MigrationStatusJson(const MigrationRecord& record,
                                   const std::vector<EventRecord>& events);

}  // namespace pgshift
