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

}  // namespace
}  // namespace pgshift::proxy

namespace pgshift::proxy {
namespace {

TEST_F(ProxyConfigTest, ReadsTheConnectionCapsAndRejectsBadOnes) {
  auto defaults = ParseProxyConfig(Base(), "p.ini");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->max_client_connections, 4096);
  EXPECT_EQ(defaults->max_pending_handshakes_per_address, 128);
  std::string caps =
      "\n[proxy]\nmax_client_connections = 500\nmax_pending_handshakes_per_address = 8\n";
  auto c = ParseProxyConfig(Base() + caps, "p.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_client_connections, 500);
  EXPECT_EQ(c->max_pending_handshakes_per_address, 8);
  auto bad = ParseProxyConfig(Base() + "\n[proxy]\nmax_client_connections = 0\n", "p.ini");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("max_client_connections: '0' is not a connection count"),
            std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace pgshift::proxy
