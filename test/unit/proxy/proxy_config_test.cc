// Config validation: every complaint names the line and key; secrets never appear.
#include "proxy/proxy_config.h"

#include <gtest/gtest.h>

#include <filesystem>
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

// The admin API carries a token that can reroute every cluster: beyond loopback, HTTPS only.
TEST_F(ProxyConfigTest, AdminListenBeyondLoopbackRequiresTls) {
  auto with_admin = [&](const std::string& address, const std::string& extra = "") {
    std::string text = Base();
    text.replace(text.find("admin_listen = 127.0.0.1:7001"), 29, "admin_listen = " + address);
    text.replace(text.find("client_tls = off\n"), 17, "client_tls = off\n" + extra);
    return ParseProxyConfig(text, "p.ini");
  };
  for (const char* beyond : {"0.0.0.0:7001", "10.1.2.3:7001", "[::]:7001", "db.example:7001"}) {
    auto c = with_admin(beyond);
    ASSERT_FALSE(c.ok()) << beyond;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    EXPECT_NE(c.status().message().find("p.ini:3: admin_listen: '"), std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find("set admin_tls_cert and admin_tls_key"), std::string::npos)
        << c.status().message();
    EXPECT_EQ(c.status().message().find("tok-123"), std::string::npos);
  }
  for (const char* loopback :
       {"127.0.0.1:7001", "127.0.0.2:7001", "localhost:7001", "[::1]:7001"}) {
    auto c = with_admin(loopback);
    EXPECT_TRUE(c.ok()) << loopback << ": " << c.status().ToString();
  }

  std::string cert = dir_.path() + "/admin.crt", key = dir_.path() + "/admin.key";
  std::ofstream(cert) << "cert\n";
  std::ofstream(key) << "key\n";
  auto tls =
      with_admin("0.0.0.0:7001", "admin_tls_cert = " + cert + "\nadmin_tls_key = " + key + "\n");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->admin_host, "0.0.0.0");
  EXPECT_EQ(tls->admin_tls_cert, cert);
  EXPECT_EQ(tls->admin_tls_key, key);

  auto half = with_admin("0.0.0.0:7001", "admin_tls_cert = " + cert + "\n");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("p.ini:3: admin_listen: admin_tls_cert and admin_tls_key "
                                         "go together"),
            std::string::npos)
      << half.status().message();
  auto unreadable = with_admin("0.0.0.0:7001", "admin_tls_cert = /nope.crt\n");
  EXPECT_NE(unreadable.status().message().find("p.ini:6: admin_tls_cert: cannot read file"),
            std::string::npos)
      << unreadable.status().message();
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

TEST_F(ProxyConfigTest, ReplicationIsOffUnlessAnIdentitySaysOn) {
  auto c = ParseProxyConfig(Base() +
                                "[identity svc]\ndatabases = orders\nroles = app\n"
                                "[identity cdc]\ndatabases = orders\nroles = app\n"
                                "replication = on\n",
                            "p.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->identities.at("svc").replication);
  EXPECT_TRUE(c->identities.at("cdc").replication);
  auto bad = ParseProxyConfig(Base() + "[identity cdc]\nreplication = maybe\n", "p.ini");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("p.ini:12: replication: 'maybe' is not on or off"),
            std::string::npos)
      << bad.status().message();
}

TEST_F(ProxyConfigTest, InlineCommentsFollowABlank) {
  auto c = ParseProxyConfig(Base() +
                                "[identity spiffe://example.org/a#frag]   # the URI SAN\n"
                                "databases = orders, b#2 # two of them\n"
                                "roles = app\t# tab before the comment\n"
                                "replication = on # CDC\n",
                            "p.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const IdentityConfig& id = c->identities.at("spiffe://example.org/a#frag");
  EXPECT_EQ(id.databases, (std::set<std::string>{"orders", "b#2"}));
  EXPECT_EQ(id.roles, (std::set<std::string>{"app"}));
  EXPECT_TRUE(id.replication);
  // A value that is only a comment is an empty value.
  auto empty = ParseProxyConfig(Base() + "[identity x]\nroles = # none\n", "p.ini");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("p.ini:12: roles: empty value"), std::string::npos)
      << empty.status().message();
}

TEST_F(ProxyConfigTest, WarnsAboutSecretFilesOthersMayRead) {
  std::filesystem::permissions(secret_, std::filesystem::perms(0640));
  std::filesystem::permissions(token_, std::filesystem::perms(0600));
  auto c = ParseProxyConfig(Base(), "p.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0], "p.ini:10: password_file: secret file " + secret_ +
                                " is readable by group or others (chmod 600 it)");
  EXPECT_EQ(c->warnings[0].find("s3cret"), std::string::npos);

  std::filesystem::permissions(secret_, std::filesystem::perms(0600));
  std::filesystem::permissions(token_, std::filesystem::perms(0604));
  auto d = ParseProxyConfig(Base(), "p.ini");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->warnings.size(), 1u);
  EXPECT_NE(d->warnings[0].find("admin_token_file: secret file " + token_), std::string::npos)
      << d->warnings[0];
  EXPECT_EQ(d->warnings[0].find("tok-123"), std::string::npos);

  std::filesystem::permissions(token_, std::filesystem::perms(0600));
  auto quiet = ParseProxyConfig(Base(), "p.ini");
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->warnings.empty());
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

TEST_F(ProxyConfigTest, ReadsThePoolSettingsAndRejectsBadOnes) {
  auto defaults = ParseProxyConfig(Base(), "p.ini");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->pool_size, 8);
  EXPECT_EQ(defaults->pool_idle_timeout_s, 60);
  auto c =
      ParseProxyConfig(Base() + "\n[proxy]\npool_size = 0\npool_idle_timeout = 300\n", "p.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->pool_size, 0);  // pooling off
  EXPECT_EQ(c->pool_idle_timeout_s, 300);
  for (const char* bad_line :
       {"pool_size = -1", "pool_size = lots", "pool_idle_timeout = 0", "pool_idle_timeout = 5s"}) {
    auto bad = ParseProxyConfig(Base() + "\n[proxy]\n" + bad_line + "\n", "p.ini");
    ASSERT_FALSE(bad.ok()) << bad_line;
    std::string key = std::string(bad_line).substr(0, std::string(bad_line).find(' '));
    EXPECT_NE(bad.status().message().find(key + ": '"), std::string::npos)
        << bad.status().message();
  }
}

}  // namespace
}  // namespace pgshift::proxy
