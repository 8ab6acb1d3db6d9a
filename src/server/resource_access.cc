// Team-scoped lookups of clusters and migrations.
#include "server/resource_access.h"

#include "server/authorization.h"

namespace pgshift::server {

Result<ClusterRecord> FindVisibleCluster(ServerContext& ctx, const Caller& caller,
                                         const std::string& name) {
  auto c = ctx.control.GetCluster(name);
  if (!c.ok()) {
    if (c.status().code() == Code::kNotFound) return ResourceNotFound("cluster", name);
    return c.status();
  }
  RETURN_IF_ERROR(AuthorizeResource(caller, "cluster", name, c->team));
  return c;
}

Result<VisibleMigration> FindVisibleMigration(ServerContext& ctx, const Caller& caller,
                                              const std::string& name) {
  auto r = ctx.migrations.Get(name);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) return ResourceNotFound("migration", name);
    return r.status();
  }
  VisibleMigration m;
  m.record = std::move(r).value();
  ASSIGN_OR_RETURN(m.control, ctx.control.GetControl(name));
  m.team = m.control.value("team", "");
  m.cluster = m.control.value("cluster", "");
  RETURN_IF_ERROR(AuthorizeResource(caller, "migration", name, m.team));
  return m;
}

}  // namespace pgshift::server
