// DecideAdmission: the proxy's mTLS admission policy, table by table, without sockets.
#include "proxy/admission.h"

#include <gtest/gtest.h>

#include "proxy/wire_format.h"

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
  c.identities["svc-cdc"] = IdentityConfig{
      .name = "svc-cdc", .databases = {"orders"}, .roles = {"app"}, .replication = true};
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

TEST(Admission, AdmitsLogicalReplicationForAnIdentityAllowedIt) {
  auto d = DecideAdmission(Config(), Cert("svc-cdc"),
                           {{"user", "app"}, {"database", "orders"}, {"replication", "database"}});
  ASSERT_TRUE(d.admitted()) << d.message;
  EXPECT_EQ(d.replication, ReplicationMode::kLogical);
  EXPECT_TRUE(d.identity_allows_replication);
}

TEST(Admission, RefusesLogicalReplicationToAnIdentityWithoutTheRight) {
  // svc-orders may use orders as app, but has no `replication = on`.
  auto d = DecideAdmission(Config(), Cert("svc-orders"),
                           {{"user", "app"}, {"database", "orders"}, {"replication", "database"}});
  ExpectRefused(d, "28000",
                "pgshift: identity \"svc-orders\" may not open replication connections "
                "(replication=database)");
  EXPECT_TRUE(d.replication_refused);
  // The same identity's ordinary sessions are not affected.
  EXPECT_TRUE(
      DecideAdmission(Config(), Cert("svc-orders"), {{"user", "app"}, {"database", "orders"}})
          .admitted());
}

TEST(Admission, WithoutClientTlsNoReplicationIsServed) {
  ProxyConfig config = Config();
  config.client_tls = false;
  auto d = DecideAdmission(config, ClientCredentials{},
                           {{"user", "app"}, {"database", "orders"}, {"replication", "database"}});
  ExpectRefused(d, "28000",
                "pgshift: replication connections (replication=database) require a client "
                "certificate whose identity allows them");
  EXPECT_TRUE(d.replication_refused);
}

TEST(Admission, OrdinaryRefusalsAreNotCountedAsReplicationRefusals) {
  auto d = DecideAdmission(Config(), Cert("svc-orders"), {{"user", "app"}, {"database", "app"}});
  ASSERT_FALSE(d.admitted());
  EXPECT_FALSE(d.replication_refused);
}

TEST(Admission, TheCertificateIsCheckedBeforeTheReplicationValue) {
  ClientCredentials none{.over_tls = true,
                         .identity = Unauthenticated("a client certificate is required (connect "
                                                     "with sslcert/sslkey)")};
  for (const char* value : {"sometimes\nforged log line", "true", "database"}) {
    ExpectRefused(
        DecideAdmission(Config(), none,
                        {{"user", "app"}, {"database", "orders"}, {"replication", value}}),
        "28000", "pgshift: a client certificate is required (connect with sslcert/sslkey)");
  }
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
  // The whole sentence (it once ended mid-way, "... logical replication (replication=database)
  // is").
  ExpectRefused(d, "28000",
                "pgshift: physical replication connections are not served by the proxy "
                "(standbys and pg_basebackup must connect to the server itself); logical "
                "replication (replication=database) is served to identities allowed it");
  EXPECT_TRUE(d.replication_refused);
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

std::string QueryMessage(const std::string& sql) { return wire::Query(sql); }

TEST(ReplicationMessages, WithoutTheRightOnlyReplicationCommandsPass) {
  for (const char* sql :
       {"IDENTIFY_SYSTEM", "CREATE_REPLICATION_SLOT \"s\" LOGICAL \"test_decoding\"",
        "START_REPLICATION SLOT \"s\" LOGICAL 0/0", "read_replication_slot s",
        "  DROP_REPLICATION_SLOT s WAIT", "TIMELINE_HISTORY 1", "BASE_BACKUP",
        "identify_system;"}) {
    EXPECT_TRUE(ReplicationMessageAllowed('Q', QueryMessage(sql), true, false)) << sql;
  }
  for (const char* sql :
       {"SHOW data_directory_mode", "SET search_path = ''", "select 1",
        "SELECT pg_catalog.set_config('search_path', '', false)", "IDENTIFY_SYSTEMX", "",
        "/* IDENTIFY_SYSTEM */ select 1", "CREATE TABLE t()"}) {
    EXPECT_FALSE(ReplicationMessageAllowed('Q', QueryMessage(sql), true, false)) << sql;
  }
  // A Query too large to inspect is not taken on trust.
  EXPECT_FALSE(
      ReplicationMessageAllowed('Q', QueryMessage("IDENTIFY_SYSTEM").substr(0, 5), false, false));
  // The COPY stream of START_REPLICATION and Terminate pass; the extended protocol does not.
  for (char type : {'d', 'c', 'f', 'X'}) {
    EXPECT_TRUE(ReplicationMessageAllowed(type, "", false, false)) << type;
  }
  for (char type : {'P', 'B', 'E', 'S', 'F', 'D', 'H'}) {
    EXPECT_FALSE(ReplicationMessageAllowed(type, "", false, false)) << type;
  }
}

TEST(ReplicationMessages, AnIdentityAllowedReplicationMayRunSql) {
  // pg_recvlogical sets search_path by SQL, subscribers copy tables by SQL.
  EXPECT_TRUE(ReplicationMessageAllowed(
      'Q', QueryMessage("SELECT pg_catalog.set_config('search_path', '', false)"), true, true));
  EXPECT_TRUE(ReplicationMessageAllowed('Q', QueryMessage("SHOW wal_level"), true, true));
}

TEST(EscapedForLog, ControlCharactersCannotSplitALine) {
  EXPECT_EQ(EscapedForLog("plain text, \"quoted\""), "plain text, \"quoted\"");
  EXPECT_EQ(EscapedForLog("a\nb\r\tc\\d"), "a\\nb\\r\\tc\\\\d");
  EXPECT_EQ(EscapedForLog(std::string("\x01\x7f", 2)), "\\x01\\x7f");
  EXPECT_EQ(EscapedForLog("h\xc3\xa9"), "h\xc3\xa9");  // UTF-8 stays readable
}

}  // namespace
}  // namespace pgshift::proxy
