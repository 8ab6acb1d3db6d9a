// A demo source cluster: a PostgreSQL 15 primary in DIR/source on a free port, host
// connections by SCRAM with the superuser's password, and the application's own role.
#pragma once

#include <string>

#include "common/status.h"
#include "pg/conninfo.h"
#include "platform/local_instance.h"

namespace pgshift::demo {

// initdb and start (max_connections 100, max_prepared_transactions 10).
Result<LocalInstance> StartDemoSource(const std::string& dir, const std::string& password);
// CREATE ROLE user LOGIN PASSWORD ...; GRANT ALL ON SCHEMA public TO user.
Status CreateAppRole(const ConnInfo& superuser, const std::string& user,
                     const std::string& password);

}  // namespace pgshift::demo
