// ClusterRegistration: the body of POST /v1/clusters judged and turned into a ClusterRecord,
// and a cluster's public JSON. The registration holds connection strings without passwords
// and secret references only; every reference the server will need is read once here (so a
// typo is a 400 now, not a failed migration later) and the value is dropped at once. Each
// complaint names the field at fault ("source.conninfo", "proxies.admins[0].token").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"
#include "server/api_error.h"
#include "store/control_store.h"
#include "workflow/start_migration.h"

namespace pgshift::server {

// The record to store, or the error with its field.
struct RegistrationResult {
  std::optional<ClusterRecord> cluster;
  ApiError error;
};
RegistrationResult ParseClusterRegistration(const nlohmann::json& body);

// {"name","team","labels","source","proxies","target","created_at"}: references, no value.
nlohmann::json ClusterJson(const ClusterRecord& cluster);

// What StartMigration needs for a migration of `cluster` named `name`: conninfos, password
// references, the target, the router of its proxies.
Result<StartRequest> StartRequestFor(const ClusterRecord& cluster, const std::string& name);

}  // namespace pgshift::server
