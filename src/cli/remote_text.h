// Text rendering of what the server answers for the remote commands' lists: migrations
// (`migrate list`) and clusters (`cluster list`). One migration's status is rendered by
// MigrationStatusText (status_text.h), the same as the local command's.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace pgshift::cli {

// One line per migration summary {"name","cluster","team","phase","state","lag_bytes"};
// `where` names the server when there are none.
std::string RemoteMigrationListText(const nlohmann::json& summaries, const std::string& where);
// One line per cluster {"name","team","migration":{...}|null}.
std::string RemoteClusterListText(const nlohmann::json& clusters, const std::string& where);

}  // namespace pgshift::cli
