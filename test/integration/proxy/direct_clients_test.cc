// Check clients_outside_proxy against real servers: a session through a real proxy and a
// psql session straight to the source; the proxy's backend role comes from the proxy's own
// admin API, as the migration's validation reads it. Only the direct session is named.
#include <gtest/gtest.h>

#include "checks/check_functions.h"
#include "checks/cluster_facts.h"
#include "proxy_harness.h"
#include "workflow/proxy_router.h"

namespace pgshift::testing {
namespace {

TEST(ClientsOutsideProxy, NamesTheDirectPsqlSessionNotTheProxied) {
  ProxyHarness h;
  h.primary->Sql("CREATE ROLE reporting LOGIN PASSWORD 'reporting-pw-1'");
  auto proxied = h.Connect();
  ASSERT_TRUE(proxied.ok()) << proxied.status().ToString();
  ASSERT_TRUE(proxied->Exec("SELECT 1").ok());
  auto direct = PgConnection::Connect(*ConnInfo::Parse(
      "host=127.0.0.1 port=" + std::to_string(h.primary->port()) +
          " dbname=appdb user=reporting password=reporting-pw-1 application_name=psql",
      "direct"));
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();

  ProxyRouter router("orders",
                     {{"127.0.0.1:" + std::to_string(h.proxy->admin_port()), kAdminToken, ""}});
  auto roles = router.BackendRoles();
  ASSERT_TRUE(roles.ok()) << roles.status().ToString();
  EXPECT_EQ(*roles, std::vector<std::string>{"app"});

  ConnInfo source = h.primary->Conn();
  auto conn = PgConnection::Connect(source);
  ASSERT_TRUE(conn.ok());
  auto facts = ReadClusterFacts(*conn, source, /*with_installed_extensions=*/false);
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  CheckResult warn = CheckClientsOutsideProxy(*facts, *roles, /*block=*/false);
  EXPECT_EQ(warn.verdict, Verdict::kWarn) << warn.evidence.dump();
  ASSERT_EQ(warn.evidence["clients"].size(), 1u) << warn.evidence.dump();
  EXPECT_EQ(warn.evidence["clients"][0]["user"], "reporting");
  EXPECT_EQ(warn.evidence["clients"][0]["application_name"], "psql");
  EXPECT_EQ(warn.evidence["clients"][0]["client_addr"], "127.0.0.1");
  EXPECT_EQ(warn.evidence["clients"][0]["pid"], direct->BackendPid());
  EXPECT_GE(warn.evidence["through_proxy"].get<int>(), 1);
  EXPECT_EQ(CheckClientsOutsideProxy(*facts, *roles, /*block=*/true).verdict, Verdict::kFail);
}

}  // namespace
}  // namespace pgshift::testing
