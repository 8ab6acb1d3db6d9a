// Check clients_outside_proxy on hand-built facts: who is named, who is not, warn or gate.
#include <gtest/gtest.h>

#include "checks/check_functions.h"

namespace pgshift {
namespace {

ClusterFacts SourceWith(std::vector<ClientBackendFact> backends) {
  ClusterFacts f;
  f.role = "source";
  f.label = "source (127.0.0.1:5432)";
  f.user = "postgres";
  f.client_backends = std::move(backends);
  return f;
}

const ClientBackendFact kProxied{101,           "app",      "appdb",
                                 "billing-api", "10.0.0.5", "2026-11-29T12:00:00Z"};
const ClientBackendFact kOwn{
    102, "postgres", "postgres", "pgshift-migrate", "127.0.0.1", "2026-11-29T12:00:01Z"};
const ClientBackendFact kDirect{103,    "reporting", "appdb",
                                "psql", "10.0.0.9",  "2026-11-29T12:00:02Z"};

TEST(ClientsOutsideProxy, PassesWhenEveryClientComesThroughAProxyOrIsPgshift) {
  CheckResult r = CheckClientsOutsideProxy(SourceWith({kProxied, kOwn}), {"app"}, false);
  EXPECT_EQ(r.name, "clients_outside_proxy");
  EXPECT_EQ(r.verdict, Verdict::kPass);
  EXPECT_EQ(r.evidence["through_proxy"], 1);
  EXPECT_EQ(r.evidence["outside_proxy"], 0);
}

TEST(ClientsOutsideProxy, WarnsNamingEachDirectClientWithItsEvidence) {
  CheckResult r = CheckClientsOutsideProxy(SourceWith({kProxied, kOwn, kDirect}), {"app"}, false);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  ASSERT_EQ(r.evidence["clients"].size(), 1u);
  const auto& c = r.evidence["clients"][0];
  EXPECT_EQ(c["client_addr"], "10.0.0.9");
  EXPECT_EQ(c["user"], "reporting");
  EXPECT_EQ(c["application_name"], "psql");
  EXPECT_EQ(c["backend_start"], "2026-11-29T12:00:02Z");
  EXPECT_NE(r.advice.find("direct_clients = block"), std::string::npos) << r.advice;
  EXPECT_FALSE(r.query.empty());
}

TEST(ClientsOutsideProxy, APgshiftApplicationNameUnderAnotherRoleIsNotPgshift) {
  ClientBackendFact pretender = kDirect;
  pretender.application_name = "pgshift-migrate";
  CheckResult r = CheckClientsOutsideProxy(SourceWith({pretender}), {"app"}, false);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
}

TEST(ClientsOutsideProxy, BlockPolicyMakesItAGate) {
  CheckResult r = CheckClientsOutsideProxy(SourceWith({kDirect}), {"app"}, true);
  EXPECT_EQ(r.verdict, Verdict::kFail);
}

}  // namespace
}  // namespace pgshift
