// The server's configuration: a full file read as documented, and each mistake answered
// `file:line: key: problem`.
#include "server/server_config.h"

#include <gtest/gtest.h>

namespace pgshift::server {
namespace {

TEST(ServerConfig, ReadsEverySettingOfTheDocumentedExample) {
  auto c = ParseServerConfig(R"(# the control plane
[server]
listen = 127.0.0.1:8080          # inline comment
store = /var/lib/pgshift.db
platform_team = platform-eng
tls_cert_file = /etc/pgshift/server.crt
tls_key_file = /etc/pgshift/server.key
client_ca_file = /etc/pgshift/clients-ca.crt

[team payments]
approval = required
approval_valid_for = 1h
webhook = https://hooks.example/pgshift
webhook = http://127.0.0.1:9000/hook
client_cert_cn = payments-ci
client_cert_cn = payments-deploy

[team search]
approval = off
)",
                             "server.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->store, "/var/lib/pgshift.db");
  EXPECT_EQ(c->platform_team, "platform-eng");
  EXPECT_TRUE(c->tls());
  EXPECT_EQ(c->client_ca_file, "/etc/pgshift/clients-ca.crt");
  const TeamConfig& p = c->teams.at("payments");
  EXPECT_TRUE(p.approval_required);
  EXPECT_EQ(p.approval_valid_for_s, 3600);
  ASSERT_EQ(p.webhooks.size(), 2u);
  EXPECT_EQ(c->TeamOfCertificate("payments-deploy"), "payments");
  EXPECT_EQ(c->TeamOfCertificate("unknown"), "");
  EXPECT_FALSE(c->teams.at("search").approval_required);
  EXPECT_FALSE(c->Team("nobody").approval_required);  // a team the file does not name
}

TEST(ServerConfig, DefaultsListenOnLoopbackOnAFreePort) {
  auto c = ParseServerConfig("", "empty.ini");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 0);
  EXPECT_EQ(c->platform_team, "platform");
}

struct BadCase {
  std::string text;
  std::string want;  // the start of the message
};

TEST(ServerConfig, EachMistakeNamesFileLineAndKey) {
  const BadCase cases[] = {
      {"[server]\nlisten = nowhere\n", "s.ini:2: listen: 'nowhere' is not HOST:PORT"},
      {"[server]\nlisten = 127.0.0.1:99999\n", "s.ini:2: listen: '127.0.0.1:99999': the port"},
      {"[server]\ncolour = blue\n", "s.ini:2: colour: unknown key in [server]"},
      {"[server]\nallow_plain_http_beyond_loopback = maybe\n",
       "s.ini:2: allow_plain_http_beyond_loopback: 'maybe' is not on or off"},
      {"\n[team payments]\napproval = sometimes\n",
       "s.ini:3: approval: 'sometimes' is not required or off"},
      {"[team payments]\napproval_valid_for = soon\n",
       "s.ini:2: approval_valid_for: 'soon' is not a duration"},
      {"[team payments]\nwebhook = ftp://x\n", "s.ini:2: webhook: 'ftp://x' is not an http"},
      {"[team payments]\n[team payments]\n", "s.ini:2: [team payments] appears twice"},
      {"[teams]\n", "s.ini:1: unknown section [teams]"},
      {"listen = 1.2.3.4:5\n", "s.ini:1: listen: outside a section"},
      {"[server]\nlisten\n", "s.ini:2: expected 'key = value'"},
      {"[server]\nstore =\n", "s.ini:2: store: empty value"},
      {"[team a]\nclient_cert_cn = ci\n[team b]\nclient_cert_cn = ci\n",
       "s.ini:4: client_cert_cn: 'ci' already acts for team a"},
      {"[server]\ntls_cert_file = /c\n", "s.ini:2: tls_cert_file: tls_cert_file and tls_key_file"},
      {"[server]\n\ntls_key_file = /k\n", "s.ini:3: tls_key_file: tls_cert_file and tls_key_file"},
      {"[server]\nclient_ca_file = /ca\n", "s.ini:2: client_ca_file: client certificates need TLS"},
      {"[server]\nlisten = 0.0.0.0:8080\n", "s.ini:2: listen: '0.0.0.0' is reachable beyond"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseServerConfig(c.text, "s.ini");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(c.want, 0), 0u)
        << "got: " << r.status().message() << "\nwant: " << c.want;
  }
}

TEST(ServerConfig, PlainHttpBeyondLoopbackIsAllowedOnlyWhenSaidAndWarned) {
  auto c = ParseServerConfig(
      "[server]\nlisten = 0.0.0.0:8080\nallow_plain_http_beyond_loopback = on\n", "s.ini");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<std::string> warnings;
  ASSERT_TRUE(ValidateServerConfig(*c, "s.ini", &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("0.0.0.0"), std::string::npos);
}

TEST(ServerConfig, ListenFlagIsJudgedLikeTheKey) {
  ServerConfig c;
  ASSERT_TRUE(ApplyListen(c, "127.0.0.1:7000").ok());
  EXPECT_EQ(c.listen_port, 7000);
  Status bad = ApplyListen(c, "7000");
  EXPECT_EQ(bad.message().rfind("--listen: ", 0), 0u) << bad.message();
}

}  // namespace
}  // namespace pgshift::server
