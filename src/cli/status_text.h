// Text rendering of the workflow's public status JSON for a terminal (`migrate status`,
// `migrate list`, the end of `migrate run`). JSON output is the status itself.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "workflow/migration_control.h"

namespace pgshift::cli {

// A few readable lines for one migration.
std::string MigrationStatusText(const nlohmann::json& status);
// One line per migration; `store` names where they live when there are none.
std::string MigrationListText(const std::vector<MigrationSummary>& all, const std::string& store);

}  // namespace pgshift::cli
