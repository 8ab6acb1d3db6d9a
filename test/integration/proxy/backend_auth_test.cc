// The proxy's own login to backends with the methods other than SCRAM: md5 (a role whose
// password is stored as md5), cleartext (pg_hba "password"), each only when the cluster's
// auth_methods lists it, and TLS toward a server with ssl=on whose pg_hba refuses the role
// without it: verified (tls = verify-full) against the test's CA and host name, and bound to
// the certificate by SCRAM-SHA-256-PLUS. A wrong configured password gives the client a clear
// refusal that names neither the server nor the secret; a missing database or a role over its
// connection limit reaches the client with its own class (3D000, 53300).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "common/process.h"
#include "fake_backend.h"
#include "proxy/backend_login.h"
#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

constexpr const char* kMd5Secret = "md5-backend-secret-1";
constexpr const char* kPlainSecret = "plain-backend-secret-2";
constexpr const char* kTlsSecret = "tls-backend-secret-3";
constexpr const char* kWrongSecret = "not-the-password-4";
constexpr const char* kScramSecret = "scram-backend-secret-5";

class ProxyBackendAuth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    legacy_ = PgCluster::Primary().release();
    pki_ = new TestPki();
    other_pki_ = new TestPki();
    skipper_ = new FakeBackend({.password = kScramSecret, .skip_sasl_final = true});
    secrets_ = new TempDir("pgshift-secrets");
    const PgCluster& pg = *legacy_;
    pg.Sql(std::string("SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD '") +
           kMd5Secret + "'");
    pg.Sql(std::string("CREATE ROLE plainuser LOGIN PASSWORD '") + kPlainSecret + "'");
    pg.Sql(std::string("CREATE ROLE tlsuser LOGIN PASSWORD '") + kTlsSecret + "'");
    pg.Sql(std::string("CREATE ROLE scramuser LOGIN PASSWORD '") + kScramSecret + "'");
    pg.Sql(std::string("CREATE ROLE limiteduser LOGIN CONNECTION LIMIT 0 PASSWORD '") +
           kScramSecret + "'");
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
                                       {"scram", kScramSecret},
                                       {"wrong", kWrongSecret}}) {
      std::ofstream(secrets_->path() + "/" + file + ".password") << secret << "\n";
    }
    proxy_ = new ProxyHarness(Options());  // one proxy for the suite: each costs a server
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete secrets_;
    delete skipper_;
    delete other_pki_;
    delete pki_;
    delete legacy_;
  }

  // `more` adds lines to the section (auth_methods, tls = verify-full, ...).
  static std::string Cluster(const std::string& name, const std::string& user,
                             const std::string& secret_file, bool tls, const std::string& more = "",
                             int port = 0) {
    return "\n[cluster " + name +
           "]\nhost = 127.0.0.1\nport = " + std::to_string(port ? port : legacy_->port()) +
           "\ndatabase = postgres\nuser = " + user + "\npassword_file = " + secrets_->path() + "/" +
           secret_file + ".password\ntls = " + (tls ? "on" : "off") + "\n" + more;
  }
  static std::string VerifyFull(const std::string& ca, const std::string& name) {
    return "tls = verify-full\ntls_ca_file = " + ca + "\ntls_server_name = " + name + "\n";
  }
  static HarnessOptions Options() {
    return HarnessOptions{
        .extra_config =
            Cluster("legacy_md5", "md5user", "md5", false, "auth_methods = md5\n") +
            Cluster("legacy_md5_unlisted", "md5user", "md5", false) +
            Cluster("legacy_plain", "plainuser", "plain", false, "auth_methods = password\n") +
            Cluster("legacy_plain_unlisted", "plainuser", "plain", false) +
            Cluster("legacy_wrong", "md5user", "wrong", false, "auth_methods = md5\n") +
            Cluster("legacy_tls", "tlsuser", "tls", true) +
            Cluster("legacy_notls", "tlsuser", "tls", false) +
            Cluster("legacy_verified", "tlsuser", "tls", true,
                    VerifyFull(pki_->ca_cert(), "localhost")) +
            Cluster("legacy_wrong_host", "tlsuser", "tls", true,
                    VerifyFull(pki_->ca_cert(), "db.example.org")) +
            Cluster("legacy_other_ca", "tlsuser", "tls", true,
                    VerifyFull(other_pki_->ca_cert(), "localhost")) +
            Cluster("legacy_nodb", "scramuser", "scram", false, "database = no_such_db\n") +
            Cluster("legacy_limited", "limiteduser", "scram", false) +
            Cluster("fake_skipper", "scramuser", "scram", false, "", skipper_->port()) +
            "\n[identity svc-legacy]\ndatabases = *\nroles = *\n"};
  }

  // A direct login to the legacy server as tlsuser over TLS (verified when `verify_name`).
  static Result<proxy::BackendLink> LoginOverTls(SSL_CTX* ctx, const std::string& verify_name) {
    proxy::BackendLogin l;
    l.cluster = "legacy";
    l.endpoint = proxy::Endpoint{"127.0.0.1", legacy_->port(), proxy::BackendTls::kRequire, 0};
    l.database = "postgres";
    l.user = "tlsuser";
    l.password = kTlsSecret;
    l.auth.verify_full = !verify_name.empty();
    l.auth.ca_file = pki_->ca_cert();
    l.auth.server_name = verify_name;
    l.timeout_ms = 10000;
    return proxy::LoginToBackend(l, ctx);
  }

  static PgCluster* legacy_;
  static ProxyHarness* proxy_;
  static TestPki* pki_;
  static TestPki* other_pki_;  // a CA the legacy server's certificate does not chain to
  static TempDir* secrets_;
  static FakeBackend* skipper_;  // SCRAM without SASLFinal
};
PgCluster* ProxyBackendAuth::legacy_ = nullptr;
ProxyHarness* ProxyBackendAuth::proxy_ = nullptr;
TestPki* ProxyBackendAuth::pki_ = nullptr;
TestPki* ProxyBackendAuth::other_pki_ = nullptr;
FakeBackend* ProxyBackendAuth::skipper_ = nullptr;
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

// The refusal a client sees, with its SQLSTATE: libpq's message starts with the server's text.
void ExpectClientRefused(const Result<PgConnection>& c, const std::string& text) {
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(text), std::string::npos) << c.status().message();
}

TEST_F(ProxyBackendAuth, Md5AndCleartextAreRefusedUnlessListed) {
  ProxyHarness& h = *proxy_;
  ExpectClientRefused(h.Connect("svc-legacy", "legacy_md5_unlisted", "md5user"),
                      "refused the proxy's login");
  ExpectClientRefused(h.Connect("svc-legacy", "legacy_plain_unlisted", "plainuser"),
                      "refused the proxy's login");
  EXPECT_EQ(h.Metric("pgshift_proxy_backend_errors_total", "legacy_plain_unlisted"), 1);
}

TEST_F(ProxyBackendAuth, AServerThatSkipsSaslFinalIsRefused) {
  ProxyHarness& h = *proxy_;
  ExpectClientRefused(h.Connect("svc-legacy", "fake_skipper", "scramuser"),
                      "refused the proxy's login");
  for (const char* secret : {kScramSecret, "SASLFinal"}) {
    auto c = h.Connect("svc-legacy", "fake_skipper", "scramuser");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().message().find(secret), std::string::npos) << c.status().message();
  }
}

TEST_F(ProxyBackendAuth, VerifyFullAcceptsTheRightHostOnly) {
  ProxyHarness& h = *proxy_;
  auto good = h.Connect("svc-legacy", "legacy_verified", "tlsuser");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(*good->QueryValue("select ssl from pg_stat_ssl where pid = pg_backend_pid()"), "t");
  ExpectClientRefused(h.Connect("svc-legacy", "legacy_wrong_host", "tlsuser"),
                      "refused the proxy's login");
  ExpectClientRefused(h.Connect("svc-legacy", "legacy_other_ca", "tlsuser"),
                      "refused the proxy's login");
}

TEST_F(ProxyBackendAuth, VerifyFullRefusalsNameTheRule) {
  auto plain_ctx = proxy::MakeBackendTlsContext();
  ASSERT_TRUE(plain_ctx.ok());
  auto good = LoginOverTls(plain_ctx->get(), "localhost");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  auto by_ip = LoginOverTls(plain_ctx->get(), "127.0.0.1");  // the certificate's IP SAN
  ASSERT_TRUE(by_ip.ok()) << by_ip.status().ToString();
  auto wrong = LoginOverTls(plain_ctx->get(), "db.example.org");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kUnauthenticated);
  EXPECT_NE(wrong.status().message().find("refused by tls = verify-full"), std::string::npos)
      << wrong.status().message();
}

TEST_F(ProxyBackendAuth, ScramOverTlsIsBoundToTheServerCertificate) {
  auto ctx = proxy::MakeBackendTlsContext();
  ASSERT_TRUE(ctx.ok());
  // PostgreSQL offers SCRAM-SHA-256-PLUS over TLS and checks the binding data itself: a login
  // that succeeds bound proves the tls-server-end-point hash is the server's.
  auto bound = LoginOverTls(ctx->get(), "");
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_TRUE(bound->channel_bound);
  auto verified = LoginOverTls(ctx->get(), "localhost");
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->channel_bound);
}

TEST_F(ProxyBackendAuth, AMissingDatabaseAndAFullRoleKeepTheirClass) {
  ProxyHarness& h = *proxy_;
  proxy::ClientCert cert = h.pki.Client("svc-legacy");
  for (const auto& [cluster, user, sqlstate] :
       {std::tuple{"legacy_nodb", "scramuser", "3D000"},
        std::tuple{"legacy_limited", "limiteduser", "53300"}}) {
    auto conn = ConnInfo::Parse(h.ConnString(&cert, cluster, user), "proxy");
    ASSERT_TRUE(conn.ok());
    auto c = PgConnection::Connect(*conn);
    ASSERT_FALSE(c.ok()) << cluster;
    // What the proxy said (libpq's prefix repeats the client's own dbname and user).
    std::string m = c.status().message();
    m = m.substr(std::min(m.find("FATAL:"), m.size()));
    EXPECT_EQ(m.find("cannot reach"), std::string::npos) << m;  // not 08006's text
    EXPECT_EQ(m.find("no_such_db"), std::string::npos) << m;
    EXPECT_EQ(m.find("limiteduser"), std::string::npos) << m;
    EXPECT_EQ(m.find("credential is wrong"), std::string::npos) << m;
    EXPECT_NE(
        m.find(std::string(sqlstate) == "3D000" ? "has no database" : "has too many connections"),
        std::string::npos)
        << m;
  }
}

}  // namespace
}  // namespace pgshift::testing
