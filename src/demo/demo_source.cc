// Starting a demo source cluster.
#include "demo/demo_source.h"

#include "pg/connection.h"
#include "platform/port_reservation.h"

namespace pgshift::demo {

Result<LocalInstance> StartDemoSource(const std::string& dir, const std::string& password) {
  ASSIGN_OR_RETURN(int port, ReservePort());
  LocalInstanceSpec spec;
  spec.data_dir = dir + "/source";
  spec.port = port;
  spec.superuser_password = password;
  spec.settings = {{"max_connections", "100"}, {"max_prepared_transactions", "10"}};
  ASSIGN_OR_RETURN(LocalInstance src, LocalInstance::Init(spec));
  RETURN_IF_ERROR(src.Start());
  return src;
}

Status CreateAppRole(const ConnInfo& superuser, const std::string& user,
                     const std::string& password) {
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(superuser));
  return c.Exec("CREATE ROLE " + user + " LOGIN PASSWORD " + QuoteLiteral(c, password) +
                "; GRANT ALL ON SCHEMA public TO " + user);
}

}  // namespace pgshift::demo
