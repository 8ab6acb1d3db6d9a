// The proxy's own login to backends with the methods other than SCRAM: md5 (a role whose
// password is stored as md5), cleartext (pg_hba "password"), and TLS toward a server with
// ssl=on whose pg_hba refuses the role without it. A wrong configured password gives the
// client a clear refusal that names neither the server nor the secret.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

constexpr const char* kMd5Secret = "md5-backend-secret-1";
constexpr const char* kPlainSecret = "plain-backend-secret-2";
constexpr const char* kTlsSecret = "tls-backend-secret-3";
constexpr const char* kWrongSecret = "not-the-password-4";

class ProxyBackendAuth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    legacy_ = PgCluster::Primary().release();
    pki_ = new TestPki();
    secrets_ = new TempDir("pgshift-secrets");
    const PgCluster& pg = *legacy_;
    pg.Sql(std::string("SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD '") +
           kMd5Secret + "'");
    pg.Sql(std::string("CREATE ROLE plainuser LOGIN PASSWORD '") + kPlainSecret + "'");
    pg.Sql(std::string("CREATE ROLE tlsuser LOGIN PASSWORD '") + kTlsSecret + "'");
    // Before the default SCRAM lines: first match wins.
    auto hba = legacy_->instance().ReadHba();
    ASSERT_TRUE(hba.ok());
    ASSERT_TRUE(legacy_->instance()
                    .WriteHba("hostssl all tlsuser 127.0.0.1/32 scram-sha-256\n"
                              "host all tlsuser 127.0.0.1/32 reject\n"
                              "host all md5user 127.0.0.1/32 md5\n"
                              "host all plainuser 127.0.0.1/32 password\n" +
                              *hba)
                    .ok());
    // The server's key must belong to postgres with mode 0600.
    auto ids = LookupUser("postgres");
    ASSERT_TRUE(ids.ok());
    for (const auto& [from, to] : {std::pair{pki_->server_cert(), "server.crt"},
                                   std::pair{pki_->server_key(), "server.key"}}) {
      std::string dest = legacy_->data_dir() + "/" + to;
      std::filesystem::copy_file(from, dest, std::filesystem::copy_options::overwrite_existing);
      ASSERT_EQ(chown(dest.c_str(), ids->uid, ids->gid), 0);
      ASSERT_EQ(chmod(dest.c_str(), 0600), 0);
    }
    pg.Sql("ALTER SYSTEM SET ssl = on");
    pg.Sql("SELECT pg_reload_conf()");
    for (const auto& [file, secret] : {std::pair{"md5", kMd5Secret},
                                       {"plain", kPlainSecret},
                                       {"tls", kTlsSecret},
                                       {"wrong", kWrongSecret}}) {
      std::ofstream(secrets_->path() + "/" + file + ".password") << secret << "\n";
    }
    proxy_ = new ProxyHarness(Options());  // one proxy for the suite: each costs a server
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete secrets_;
    delete pki_;
    delete legacy_;
  }

  static std::string Cluster(const std::string& name, const std::string& user,
                             const std::string& secret_file, bool tls) {
    return "\n[cluster " + name + "]\nhost = 127.0.0.1\nport = " + std::to_string(legacy_->port()) +
           "\ndatabase = postgres\nuser = " + user + "\npassword_file = " + secrets_->path() + "/" +
           secret_file + ".password\ntls = " + (tls ? "on" : "off") + "\n";
  }
  static HarnessOptions Options() {
    return HarnessOptions{.extra_config = Cluster("legacy_md5", "md5user", "md5", false) +
                                          Cluster("legacy_plain", "plainuser", "plain", false) +
                                          Cluster("legacy_wrong", "md5user", "wrong", false) +
                                          Cluster("legacy_tls", "tlsuser", "tls", true) +
                                          Cluster("legacy_notls", "tlsuser", "tls", false) +
                                          "\n[identity svc-legacy]\ndatabases = *\nroles = *\n"};
  }

  static PgCluster* legacy_;
  static ProxyHarness* proxy_;
  static TestPki* pki_;
  static TempDir* secrets_;
};
PgCluster* ProxyBackendAuth::legacy_ = nullptr;
ProxyHarness* ProxyBackendAuth::proxy_ = nullptr;
TestPki* ProxyBackendAuth::pki_ = nullptr;
TempDir* ProxyBackendAuth::secrets_ = nullptr;

TEST_F(ProxyBackendAuth, LogsInWithMd5AndWithCleartext) {
  ProxyHarness& h = *proxy_;
  // Stored as md5 and pg_hba says md5: the server asks for md5 (with a SCRAM verifier it
  // would ask for SCRAM instead), so this login proves the md5 answer.
  EXPECT_EQ(legacy_->Value("select left(rolpassword, 3) from pg_authid where rolname = 'md5user'"),
            "md5");
  auto md5 = h.Connect("svc-legacy", "legacy_md5", "md5user");
  ASSERT_TRUE(md5.ok()) << md5.status().ToString();
  EXPECT_EQ(*md5->QueryValue("select current_user"), "md5user");

  // pg_hba "password": the server asks for the password in cleartext.
  auto plain = h.Connect("svc-legacy", "legacy_plain", "plainuser");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(*plain->QueryValue("select current_user"), "plainuser");
  EXPECT_EQ(h.Metric("pgshift_proxy_backend_errors_total", "legacy_md5"), 0);
}

TEST_F(ProxyBackendAuth, AWrongBackendPasswordIsRefusedClearlyWithoutDetails) {
  ProxyHarness& h = *proxy_;
  auto c = h.Connect("svc-legacy", "legacy_wrong", "md5user");
  ASSERT_FALSE(c.ok());
  std::string m = c.status().message();
  EXPECT_NE(m.find("pgshift: the database server of \"legacy_wrong\" refused the proxy's login"),
            std::string::npos)
      << m;
  for (const std::string& secret :
       {std::string(kWrongSecret), std::string(kMd5Secret), std::to_string(legacy_->port()),
        std::string("password authentication failed")}) {
    EXPECT_EQ(m.find(secret), std::string::npos) << m;
  }
  EXPECT_EQ(h.Metric("pgshift_proxy_backend_errors_total", "legacy_wrong"), 1);
}

TEST_F(ProxyBackendAuth, LogsInOverTlsWhenTheClusterAsksForIt) {
  ProxyHarness& h = *proxy_;
  auto tls = h.Connect("svc-legacy", "legacy_tls", "tlsuser");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(*tls->QueryValue("select ssl from pg_stat_ssl where pid = pg_backend_pid()"), "t");
  // The same role without TLS is rejected by the server's pg_hba: the TLS above was real.
  auto plain = h.Connect("svc-legacy", "legacy_notls", "tlsuser");
  EXPECT_FALSE(plain.ok());
}

}  // namespace
}  // namespace pgshift::testing
