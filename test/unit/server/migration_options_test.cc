// The options a migration is started with through the API, and the external target's fence
// commands a cluster registration carries into every migration of it.
#include "server/migration_options.h"

#include <gtest/gtest.h>

#include "server/cluster_registration.h"

namespace pgshift::server {
namespace {

TEST(MigrationOptions, DirectClientsIsWarnOrBlock) {
  MigrationSpec spec;
  EXPECT_EQ(spec.direct_clients, "warn");
  ApiError ok = ApplyMigrationOptions({{"direct_clients", "block"}}, spec);
  EXPECT_TRUE(ok.status.ok()) << ok.status.ToString();
  EXPECT_EQ(spec.direct_clients, "block");
  for (const nlohmann::json& bad : {nlohmann::json("deny"), nlohmann::json(true)}) {
    MigrationSpec s;
    ApiError e = ApplyMigrationOptions({{"direct_clients", bad}}, s);
    EXPECT_EQ(e.field, "options.direct_clients") << bad.dump();
    EXPECT_NE(e.status.message().find("\"warn\" or \"block\""), std::string::npos)
        << e.status.message();
    EXPECT_EQ(s.direct_clients, "warn");
  }
}

TEST(ClusterRegistration, AnExternalTargetsFenceCommandsReachItsMigrations) {
  nlohmann::json body = {{"name", "orders"},
                         {"team", "payments"},
                         {"source", {{"conninfo", "host=127.0.0.1 port=5432 user=postgres"}}},
                         {"target",
                          {{"kind", "replica"},
                           {"conninfo", "host=10.0.0.2 port=5432 user=postgres"},
                           {"target_fence_command", "fence-target.sh"},
                           {"target_unfence_command", "unfence-target.sh"}}}};
  RegistrationResult reg = ParseClusterRegistration(body);
  ASSERT_TRUE(reg.cluster.has_value()) << reg.error.status.ToString();
  auto request = StartRequestFor(*reg.cluster, "orders-1");
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_EQ(request->options.target_fence_command, "fence-target.sh");
  EXPECT_EQ(request->options.target_unfence_command, "unfence-target.sh");

  body["target"].erase("target_unfence_command");
  RegistrationResult half = ParseClusterRegistration(body);
  EXPECT_FALSE(half.cluster.has_value());
  EXPECT_EQ(half.error.field, "target.target_unfence_command");
}

}  // namespace
}  // namespace pgshift::server
