// The admin API beyond loopback: refused without TLS, served over HTTPS (certificates made by
// the test PKI) with it, and then plain HTTP gets no answer from it.
#include <gtest/gtest.h>

#include <fstream>

#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

// The harness's config with admin_listen on every interface (and its own ports), plus `extra`
// lines in [proxy].
std::string WildcardAdminConfig(const ProxyHarness& h, int listen, int admin,
                                const std::string& extra) {
  return h.ConfigCopy("wildcard-admin.ini", "127.0.0.1:" + std::to_string(listen),
                      "0.0.0.0:" + std::to_string(admin), extra);
}

TEST(ProxyAdminTls, BindingBeyondLoopbackWithoutTlsIsRefused) {
  ProxyHarness h;
  std::string path = WildcardAdminConfig(h, *ReservePort(), *ReservePort(), "");
  auto c = proxy::LoadProxyConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find(path + ":3: admin_listen: '0.0.0.0' is reachable beyond"),
            std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find(kAdminToken), std::string::npos);
}

TEST(ProxyAdminTls, BindingBeyondLoopbackWithTlsServesHttpsOnly) {
  ProxyHarness h;
  int admin = *ReservePort();
  std::string path = WildcardAdminConfig(
      h, *ReservePort(), admin,
      "\nadmin_tls_cert = " + h.pki.server_cert() + "\nadmin_tls_key = " + h.pki.server_key());
  auto c = proxy::LoadProxyConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto server = proxy::ProxyServer::Start(*c);
  ASSERT_TRUE(server.ok()) << server.status().ToString();

  HttpRequest routes;
  routes.method = "GET";
  routes.path = "/v1/routes";
  routes.headers["authorization"] = std::string("Bearer ") + kAdminToken;
  std::string address = "127.0.0.1:" + std::to_string(admin);
  auto https =
      HttpClient(address, {.tls_ca_file = h.pki.ca_cert()}).Send(routes, std::chrono::seconds(30));
  ASSERT_TRUE(https.ok()) << https.status().ToString();
  EXPECT_EQ(https->status, 200);
  EXPECT_NE(https->body.find("\"orders\""), std::string::npos) << https->body;

  // Plain HTTP to the same port gets no HTTP answer: the token never travels in clear.
  auto plain = HttpClient(address).Send(routes, std::chrono::seconds(30));
  EXPECT_TRUE(!plain.ok() || plain->status != 200)
      << "plain HTTP answered " << plain->status << ": " << plain->body;
  (*server)->Stop();
}

}  // namespace
}  // namespace pgshift::testing
