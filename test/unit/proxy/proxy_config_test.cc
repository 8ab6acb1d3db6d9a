// Config validation: every complaint names the line and key; secrets never appear.
#include "proxy/proxy_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "fixture/temp_dir.h"

namespace pgshift::proxy {
namespace {

class ProxyConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secret_ = dir_.path() + "/pw";
    std::ofstream(secret_) << "s3cret-value\n";
    token_ = dir_.path() + "/token";
    std::ofstream(token_) << "tok-123\n";
  }
  std::string Base() const {
    return "[proxy]\nlisten = 127.0.0.1:7000\nadmin_listen = 127.0.0.1:7001\n"
           "admin_token_file = " +
           token_ +
           "\nclient_tls = off\n\n"
           "[cluster orders]\nport = 5432\nuser = app\npassword_file = " +
           secret_ + "\n";
  }
  testing::TempDir dir_;
  std::string secret_, token_;
};

TEST_F(ProxyConfigTest, ParsesAValidFile) {
  auto c = ParseProxyConfig(Base() + "[identity svc]\ndatabases = orders, b\nroles = *\n", "p.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_port, 7000);
  EXPECT_EQ(c->admin_token, "tok-123");
  EXPECT_EQ(c->clusters.at("orders").password, "s3cret-value");
  EXPECT_EQ(c->clusters.at("orders").database, "orders");
  EXPECT_TRUE(c->identities.at("svc").AllowsDatabase("b"));
  EXPECT_FALSE(c->identities.at("svc").AllowsDatabase("c"));
  EXPECT_TRUE(c->identities.at("svc").AllowsRole("anyone"));
}

TEST_F(ProxyConfigTest, ErrorsNameLineAndKey) {
  auto c = ParseProxyConfig(Base() + "port = 99999\n", "p.ini");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("p.ini:11: port:"), std::string::npos)
      << c.status().message();

  auto bad_key = ParseProxyConfig(Base() + "colour = blue\n", "p.ini");
  EXPECT_NE(bad_key.status().message().find("p.ini:11: colour: unknown key in [cluster orders]"),
            std::string::npos)
      << bad_key.status().message();

  auto bad_section = ParseProxyConfig("[clusters x]\n", "p.ini");
  EXPECT_NE(bad_section.status().message().find("p.ini:1: unknown section"), std::string::npos);

  auto missing_file =
      ParseProxyConfig(Base() + "[cluster b]\nport=1\nuser=u\npassword_file=/nope\n", "p.ini");
  EXPECT_NE(missing_file.status().message().find("p.ini:14: password_file: cannot read file /nope"),
            std::string::npos)
      << missing_file.status().message();
}

TEST_F(ProxyConfigTest, RequiresTlsMaterialUnlessTlsIsOff) {
  std::string text = Base();
  text.replace(text.find("client_tls = off"), 16, "client_tls = on");
  auto c = ParseProxyConfig(text, "p.ini");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("tls_cert, tls_key and client_ca are required"),
            std::string::npos);
}

TEST_F(ProxyConfigTest, IoEngineIsEpollOrIoUring) {
  auto with = [&](const std::string& engine) {
    std::string text = Base();
    text.replace(text.find("client_tls = off\n"), 17,
                 "client_tls = off\nio_engine = " + engine + "\n");
    return ParseProxyConfig(text, "p.ini");
  };
  auto uring = with("io_uring");
  ASSERT_TRUE(uring.ok()) << uring.status().ToString();
  EXPECT_EQ(uring->io_engine, IoEngine::kIoUring);
  auto epoll = with("epoll");
  ASSERT_TRUE(epoll.ok()) << epoll.status().ToString();
  EXPECT_EQ(epoll->io_engine, IoEngine::kEpoll);
  auto bad = with("uring");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "p.ini:6: io_engine: 'uring' is not an I/O engine (epoll or io_uring)"),
            std::string::npos)
      << bad.status().message();
}

TEST_F(ProxyConfigTest, NeverEchoesSecrets) {
  auto c = ParseProxyConfig(Base() + "[cluster orders]\n", "p.ini");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("s3cret"), std::string::npos);
  EXPECT_NE(c.status().message().find("appears twice"), std::string::npos);
}

// Backend authentication keys (issue 14): SCRAM only unless md5/password are listed, and
// verify-full needs its CA file.
TEST_F(ProxyConfigTest, BackendAuthMethodsDefaultToScramOnly) {
  const std::string identity = "[identity svc]\ndatabases = *\nroles = *\n";
  auto def = ParseProxyConfig(Base() + identity, "p.ini");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  const BackendAuthPolicy& a = def->clusters.at("orders").auth;
  EXPECT_TRUE(a.scram);
  EXPECT_FALSE(a.md5);
  EXPECT_FALSE(a.password);
  EXPECT_FALSE(a.none);
  EXPECT_FALSE(a.verify_full);

  auto listed = ParseProxyConfig(Base() + "auth_methods = md5, password\n" + identity, "p.ini");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_FALSE(listed->clusters.at("orders").auth.scram);
  EXPECT_TRUE(listed->clusters.at("orders").auth.md5);
  EXPECT_TRUE(listed->clusters.at("orders").auth.password);

  auto bad = ParseProxyConfig(Base() + "auth_methods = scram-sha-256, gss\n", "p.ini");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.status().message().find("p.ini:11: auth_methods: 'gss' is not an authentication method"),
      std::string::npos)
      << bad.status().message();
}

TEST_F(ProxyConfigTest, VerifyFullNeedsAReadableCaFile) {
  const std::string identity = "[identity svc]\ndatabases = *\nroles = *\n";
  auto no_ca = ParseProxyConfig(Base() + "tls = verify-full\n" + identity, "p.ini");
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.status().message().find("tls = verify-full needs tls_ca_file"), std::string::npos)
      << no_ca.status().message();

  auto unreadable =
      ParseProxyConfig(Base() + "tls = verify-full\ntls_ca_file = /nonexistent/ca.crt\n", "p.ini");
  EXPECT_NE(unreadable.status().message().find("p.ini:12: tls_ca_file: cannot read file"),
            std::string::npos)
      << unreadable.status().message();

  std::string ca = dir_.path() + "/ca.crt";
  std::ofstream(ca) << "not checked here\n";
  auto ok = ParseProxyConfig(Base() + "tls = verify-full\ntls_ca_file = " + ca +
                                 "\ntls_server_name = db.internal\n" + identity,
                             "p.ini");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  const ClusterConfig& cl = ok->clusters.at("orders");
  EXPECT_EQ(cl.tls, BackendTls::kRequire);
  EXPECT_TRUE(cl.auth.verify_full);
  EXPECT_EQ(cl.auth.server_name, "db.internal");

  auto bad_mode = ParseProxyConfig(Base() + "tls = verify-ca\n", "p.ini");
  EXPECT_NE(bad_mode.status().message().find("p.ini:11: tls: 'verify-ca' is not off, on or "
                                             "verify-full"),
            std::string::npos)
      << bad_mode.status().message();
}

}  // namespace
}  // namespace pgshift::proxy
