// DecideAdmission: the proxy's mTLS admission policy, table by table, without sockets.
#include "proxy/admission.h"

#include <gtest/gtest.h>

namespace pgshift::proxy {
namespace {

using Params = std::map<std::string, std::string>;

ProxyConfig Config() {
  ProxyConfig c;
  c.clusters["orders"] = ClusterConfig{.name = "orders", .database = "appdb", .user = "app"};
  c.clusters["app"] = ClusterConfig{.name = "app", .database = "app", .user = "app"};
  c.identities["svc-orders"] =
      IdentityConfig{.name = "svc-orders", .databases = {"orders"}, .roles = {"app"}};
  c.identities["spiffe://example.org/admin"] =
      IdentityConfig{.name = "spiffe://example.org/admin", .databases = {"*"}, .roles = {"*"}};
  return c;
}

ClientCredentials Cert(const std::string& identity) {
  return ClientCredentials{.over_tls = true, .identity = identity};
}

void ExpectRefused(const AdmissionDecision& d, const char* sqlstate, const std::string& message) {
  ASSERT_FALSE(d.admitted());
  EXPECT_STREQ(d.sqlstate, sqlstate);
  EXPECT_EQ(d.message, message);
}

TEST(Admission, AdmitsAnAllowedIdentityToItsCluster) {
  ProxyConfig config = Config();
  auto d = DecideAdmission(config, Cert("svc-orders"), {{"user", "app"}, {"database", "orders"}});
  ASSERT_TRUE(d.admitted()) << d.message;
  EXPECT_EQ(d.database, "orders");
  EXPECT_EQ(d.cluster, &config.clusters.at("orders"));
  EXPECT_EQ(d.identity, "svc-orders");
  EXPECT_EQ(d.replication, ReplicationMode::kNone);
}

TEST(Admission, WildcardIdentityReachesAnyCluster) {
  ProxyConfig config = Config();
  auto d = DecideAdmission(config, Cert("spiffe://example.org/admin"),
                           {{"user", "app"}, {"database", "orders"}});
  ASSERT_TRUE(d.admitted()) << d.message;
  EXPECT_EQ(d.identity, "spiffe://example.org/admin");
}

TEST(Admission, DatabaseDefaultsToTheUser) {
  ProxyConfig config = Config();
  auto d = DecideAdmission(config, Cert("spiffe://example.org/admin"), {{"user", "app"}});
  ASSERT_TRUE(d.admitted()) << d.message;
  EXPECT_EQ(d.database, "app");
  EXPECT_EQ(d.cluster, &config.clusters.at("app"));
}

TEST(Admission, RequiresTlsWhenClientTlsIsOn) {
  ExpectRefused(DecideAdmission(Config(), ClientCredentials{.over_tls = false},
                                {{"user", "app"}, {"database", "orders"}}),
                "28000",
                "pgshift: TLS with a client certificate is required (use sslmode=verify-full "
                "with sslcert and sslkey)");
}

TEST(Admission, RefusesWithoutAVerifiedCertificate) {
  ClientCredentials none{.over_tls = true,
                         .identity = Unauthenticated("a client certificate is required (connect "
                                                     "with sslcert/sslkey)")};
  ExpectRefused(DecideAdmission(Config(), none, {{"user", "app"}, {"database", "orders"}}), "28000",
                "pgshift: a client certificate is required (connect with sslcert/sslkey)");
}

TEST(Admission, RefusesAnUnknownIdentity) {
  ExpectRefused(
      DecideAdmission(Config(), Cert("svc-billing"), {{"user", "app"}, {"database", "orders"}}),
      "28000", "pgshift: certificate identity \"svc-billing\" is not allowed by this proxy");
}

TEST(Admission, RefusesADatabaseTheIdentityMayNotReach) {
  ExpectRefused(
      DecideAdmission(Config(), Cert("svc-orders"), {{"user", "app"}, {"database", "app"}}),
      "28000", "pgshift: identity \"svc-orders\" may not connect to database \"app\"");
}

TEST(Admission, RefusesARoleTheIdentityMayNotUse) {
  ExpectRefused(
      DecideAdmission(Config(), Cert("svc-orders"), {{"user", "postgres"}, {"database", "orders"}}),
      "28000", "pgshift: identity \"svc-orders\" may not use role \"postgres\"");
}

TEST(Admission, RefusesAClusterNotServed) {
  ExpectRefused(DecideAdmission(Config(), Cert("spiffe://example.org/admin"),
                                {{"user", "app"}, {"database", "billing"}}),
                "3D000", "pgshift: database \"billing\" is not served by this proxy");
}

TEST(Admission, RefusesARoleOtherThanTheClustersUser) {
  ExpectRefused(DecideAdmission(Config(), Cert("spiffe://example.org/admin"),
                                {{"user", "postgres"}, {"database", "orders"}}),
                "28000",
                "pgshift: role \"postgres\" has no credential at this proxy for database "
                "\"orders\"");
}

TEST(Admission, RefusesMissingOrEmptyUser) {
  for (const Params& params : {Params{{"database", "orders"}}, Params{{"user", ""}}}) {
    ExpectRefused(DecideAdmission(Config(), Cert("svc-orders"), params), "28000",
                  "pgshift: no user name in the startup packet");
  }
}

TEST(Admission, AnEmptyDatabaseIsNotTheUser) {
  // Present but empty: kept as is (no default), so it names no cluster.
  ExpectRefused(DecideAdmission(Config(), Cert("spiffe://example.org/admin"),
                                {{"user", "app"}, {"database", ""}}),
                "3D000", "pgshift: database \"\" is not served by this proxy");
}

TEST(Admission, TheUserIsCheckedBeforeTheCertificate) {
  ClientCredentials none{.over_tls = true, .identity = Unauthenticated("no certificate")};
  ExpectRefused(DecideAdmission(Config(), none, {{"database", "orders"}}), "28000",
                "pgshift: no user name in the startup packet");
}

TEST(Admission, AdmitsLogicalReplication) {
  auto d = DecideAdmission(Config(), Cert("svc-orders"),
                           {{"user", "app"}, {"database", "orders"}, {"replication", "database"}});
  ASSERT_TRUE(d.admitted()) << d.message;
  EXPECT_EQ(d.replication, ReplicationMode::kLogical);
}

TEST(Admission, ReplicationOffIsAnOrdinarySession) {
  auto d = DecideAdmission(Config(), Cert("svc-orders"),
                           {{"user", "app"}, {"database", "orders"}, {"replication", "off"}});
  ASSERT_TRUE(d.admitted()) << d.message;
  EXPECT_EQ(d.replication, ReplicationMode::kNone);
}

TEST(Admission, RefusesPhysicalReplication) {
  auto d = DecideAdmission(Config(), Cert("svc-orders"),
                           {{"user", "app"}, {"database", "orders"}, {"replication", "true"}});
  ExpectRefused(d, "28000", "pgshift: " + ReplicationRefusal(ReplicationMode::kPhysical));
  EXPECT_NE(d.message.find("physical replication"), std::string::npos);
}

TEST(Admission, RefusesAnInvalidReplicationValue) {
  auto d = DecideAdmission(Config(), Cert("svc-orders"),
                           {{"user", "app"}, {"database", "orders"}, {"replication", "sometimes"}});
  ASSERT_FALSE(d.admitted());
  EXPECT_STREQ(d.sqlstate, "08P01");
  EXPECT_EQ(d.message.rfind("pgshift: invalid value for parameter \"replication\"", 0), 0u)
      << d.message;
}

TEST(Admission, ReplicationRulesComeBeforeTheIdentity) {
  ExpectRefused(DecideAdmission(Config(), Cert("svc-billing"),
                                {{"user", "app"}, {"database", "orders"}, {"replication", "1"}}),
                "28000", "pgshift: " + ReplicationRefusal(ReplicationMode::kPhysical));
}

TEST(Admission, WithoutClientTlsNoIdentityIsChecked) {
  ProxyConfig config = Config();
  config.client_tls = false;
  auto d = DecideAdmission(config, ClientCredentials{}, {{"user", "app"}, {"database", "orders"}});
  ASSERT_TRUE(d.admitted()) << d.message;
  EXPECT_EQ(d.identity, "");
  // The cluster's role rule still holds.
  ExpectRefused(
      DecideAdmission(config, ClientCredentials{}, {{"user", "postgres"}, {"database", "orders"}}),
      "28000",
      "pgshift: role \"postgres\" has no credential at this proxy for database "
      "\"orders\"");
}

}  // namespace
}  // namespace pgshift::proxy
