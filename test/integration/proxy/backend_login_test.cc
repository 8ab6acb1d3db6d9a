// The proxy's backend login against a FakeBackend that misbehaves on purpose (issue 14):
// AuthenticationOk is believed only after a verified SCRAM signature; a cheap iteration count
// or a foreign nonce is refused before any proof is sent; cleartext, md5 and trust are
// answered only when the cluster's auth_methods lists them; a FATAL keeps its SQLSTATE
// (also when the server closes right after it) and the client hears its class, not its words.
#include "proxy/backend_login.h"

#include <gtest/gtest.h>

#include "fake_backend.h"

namespace pgshift::testing {
namespace {

constexpr const char* kSecret = "fake-backend-secret-9";

proxy::BackendLogin LoginTo(const FakeBackend& fake, proxy::BackendAuthPolicy auth = {}) {
  proxy::BackendLogin l;
  l.cluster = "fake";
  l.endpoint = proxy::Endpoint{"127.0.0.1", fake.port(), proxy::BackendTls::kDisable, 0};
  l.database = "appdb";
  l.user = "app";
  l.password = kSecret;
  l.auth = auth;
  l.timeout_ms = 10000;
  return l;
}

// The login's failure, checked to be a refusal that names `rule` and not the secret.
void ExpectRefusedBy(const Result<proxy::BackendLink>& r, const std::string& rule) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
  EXPECT_NE(r.status().message().find(rule), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find(kSecret), std::string::npos) << r.status().message();
  proxy::ClientRefusal told = proxy::RefusalForClient(r.status(), "fake");
  EXPECT_EQ(told.sqlstate, "08004");
}

TEST(BackendLogin, AcceptsAGenuineScramServer) {
  FakeBackend fake({.password = kSecret});
  auto r = proxy::LoginToBackend(LoginTo(fake), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->channel_bound);  // plain TCP: "n,,"
}

TEST(BackendLogin, RefusesAuthenticationOkWithoutSaslFinal) {
  FakeBackend fake({.password = kSecret, .skip_sasl_final = true});
  ExpectRefusedBy(proxy::LoginToBackend(LoginTo(fake), nullptr), "no verified SASLFinal");
}

TEST(BackendLogin, RefusesABadServerSignature) {
  FakeBackend fake({.password = kSecret, .bad_signature = true});
  ExpectRefusedBy(proxy::LoginToBackend(LoginTo(fake), nullptr),
                  "SCRAM: the server's signature does not verify");
}

TEST(BackendLogin, RefusesACheapIterationCountBeforeSendingAProof) {
  FakeBackend fake({.password = kSecret, .iterations = 1000});
  ExpectRefusedBy(proxy::LoginToBackend(LoginTo(fake), nullptr), "iteration count 1000");
  ASSERT_TRUE(fake.WaitForLogins(1));
  EXPECT_EQ(fake.Received().find(",p="), std::string::npos) << "a proof was sent";
}

TEST(BackendLogin, RefusesANonceThatDoesNotExtendOurs) {
  FakeBackend fake({.password = kSecret, .foreign_nonce = true});
  ExpectRefusedBy(proxy::LoginToBackend(LoginTo(fake), nullptr),
                  "nonce does not extend the client's");
  ASSERT_TRUE(fake.WaitForLogins(1));
  EXPECT_EQ(fake.Received().find(",p="), std::string::npos) << "a proof was sent";
}

TEST(BackendLogin, AnswersCleartextOnlyWhenListed) {
  FakeBackend fake({.ask = FakeBackend::Ask::kCleartext});
  ExpectRefusedBy(proxy::LoginToBackend(LoginTo(fake), nullptr), "refused by auth_methods");
  ASSERT_TRUE(fake.WaitForLogins(1));
  EXPECT_EQ(fake.Received().find(kSecret), std::string::npos) << "the password was sent";

  auto listed = proxy::LoginToBackend(LoginTo(fake, {.password = true}), nullptr);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_NE(fake.Received().find(kSecret), std::string::npos);  // what a listed method costs
}

TEST(BackendLogin, AnswersMd5OnlyWhenListed) {
  FakeBackend fake({.ask = FakeBackend::Ask::kMd5});
  ExpectRefusedBy(proxy::LoginToBackend(LoginTo(fake), nullptr), "asked for md5");
  ASSERT_TRUE(fake.WaitForLogins(1));
  EXPECT_EQ(fake.Received(), "") << "an md5 answer was sent";

  auto listed = proxy::LoginToBackend(LoginTo(fake, {.md5 = true}), nullptr);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
}

TEST(BackendLogin, BelievesAServerThatAsksNothingOnlyWhenNoneIsListed) {
  FakeBackend fake({.ask = FakeBackend::Ask::kNothing});
  ExpectRefusedBy(proxy::LoginToBackend(LoginTo(fake), nullptr), "(trust)");
  auto listed = proxy::LoginToBackend(LoginTo(fake, {.none = true}), nullptr);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
}

TEST(BackendLogin, AFatalAfterAuthenticationKeepsItsSqlstate) {
  FakeBackend fake({.password = kSecret,
                    .fatal_sqlstate = "3D000",
                    .fatal_message = "database \"appdb\" does not exist"});
  auto r = proxy::LoginToBackend(LoginTo(fake), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not exist (SQLSTATE 3D000)"), std::string::npos)
      << r.status().message();
  proxy::ClientRefusal told = proxy::RefusalForClient(r.status(), "fake");
  EXPECT_EQ(told.sqlstate, "3D000");
  EXPECT_EQ(told.message.find("appdb"), std::string::npos) << told.message;
  EXPECT_EQ(told.message.find(std::to_string(fake.port())), std::string::npos) << told.message;
}

TEST(BackendLogin, TooManyClientsStays53300) {
  FakeBackend fake({.fatal_sqlstate = "53300",
                    .fatal_message = "sorry, too many clients already",
                    .fatal_before_auth = true});
  auto r = proxy::LoginToBackend(LoginTo(fake), nullptr);
  ASSERT_FALSE(r.ok());
  proxy::ClientRefusal told = proxy::RefusalForClient(r.status(), "fake");
  EXPECT_EQ(told.sqlstate, "53300");
  EXPECT_EQ(told.message.find("sorry"), std::string::npos) << told.message;
  EXPECT_NE(told.message.find("too many connections"), std::string::npos) << told.message;
}

}  // namespace
}  // namespace pgshift::testing
