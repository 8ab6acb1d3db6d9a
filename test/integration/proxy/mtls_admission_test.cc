// Mutual TLS admission: who gets in, and what each refused client is told.
#include <gtest/gtest.h>

#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

std::string Refusal(ProxyHarness& h, const std::string& conn) {
  auto ci = ConnInfo::Parse(conn, "proxy");
  EXPECT_TRUE(ci.ok());
  auto c = PgConnection::Connect(*ci);
  EXPECT_FALSE(c.ok()) << "connected: " << conn;
  std::string m = c.ok() ? "" : c.status().message();
  // Nothing about the backend leaks into a refusal.
  EXPECT_EQ(m.find(std::to_string(h.primary->port())), std::string::npos) << m;
  EXPECT_EQ(m.find(kAppPassword), std::string::npos) << m;
  return m;
}

TEST(ProxyMutualTls, AdmitsAnAllowedIdentityAndLogsInWithScram) {
  ProxyHarness h;
  auto c = h.Connect("svc-orders");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c->QueryValue("select current_user"), "app");
  EXPECT_EQ(*c->QueryValue("select current_database()"), "appdb");
  EXPECT_EQ(*c->QueryValue("select inet_server_port()"), std::to_string(h.primary->port()));
  // The backend accepts app only by SCRAM over TCP (LocalInstance's pg_hba), so getting
  // here means the proxy answered SCRAM-SHA-256 with the password it holds.
  // Clients get the proxy's cancel key, not the backend's pid.
  EXPECT_NE(c->BackendPid(), std::stoi(*c->QueryValue("select pg_backend_pid()")));
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_active"), 1);
}

TEST(ProxyMutualTls, AdmitsAUriSanIdentity) {
  ProxyHarness h;
  proxy::ClientCert cert = h.pki.Client("ignored-cn", "spiffe://example.org/billing");
  auto c = PgConnection::Connect(*ConnInfo::Parse(h.ConnString(&cert), "proxy"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c->QueryValue("select 1"), "1");
}

TEST(ProxyMutualTls, RefusesEachReasonWithAClearError) {
  ProxyHarness h;
  EXPECT_NE(Refusal(h, h.ConnString(nullptr)).find("client certificate is required"),
            std::string::npos);

  proxy::ClientCert untrusted = h.pki.Untrusted("svc-orders");
  EXPECT_NE(Refusal(h, h.ConnString(&untrusted)).find("not trusted"), std::string::npos);

  proxy::ClientCert stranger = h.pki.Client("svc-stranger");
  EXPECT_NE(Refusal(h, h.ConnString(&stranger)).find("\"svc-stranger\" is not allowed"),
            std::string::npos);

  proxy::ClientCert other = h.pki.Client("svc-other");
  EXPECT_NE(Refusal(h, h.ConnString(&other)).find("may not connect to database \"orders\""),
            std::string::npos);

  proxy::ClientCert orders = h.pki.Client("svc-orders");
  EXPECT_NE(
      Refusal(h, h.ConnString(&orders, "orders", "postgres")).find("may not use role \"postgres\""),
      std::string::npos);

  proxy::ClientCert billing = h.pki.Client("x", "spiffe://example.org/billing");
  EXPECT_NE(Refusal(h, h.ConnString(&billing, "nosuchdb")).find("is not served by this proxy"),
            std::string::npos);

  std::string plain = "host=127.0.0.1 port=" + std::to_string(h.proxy->port()) +
                      " dbname=orders user=app sslmode=disable connect_timeout=10";
  EXPECT_NE(Refusal(h, plain).find("TLS with a client certificate is required"), std::string::npos);

  EXPECT_GE(h.Metric("pgshift_proxy_auth_rejected_total", ""), 7);
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_active"), 0);
}

TEST(ProxyBackendLogin, AWrongBackendPasswordIsReportedWithoutDetails) {
  ProxyHarness h;
  h.primary->Sql("ALTER ROLE app PASSWORD 'rotated-elsewhere'");
  auto c = h.Connect("svc-orders");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(
      c.status().message().find("the database server of \"orders\" refused the proxy's login"),
      std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find("rotated"), std::string::npos);
  EXPECT_EQ(h.Metric("pgshift_proxy_backend_errors_total"), 1);
}

}  // namespace
}  // namespace pgshift::testing
