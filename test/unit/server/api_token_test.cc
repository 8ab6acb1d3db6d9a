// API tokens: their form, their randomness, the SHA-256 kept for them, the constant-time
// comparison, and IdentifyCaller over a store (token, client certificate, refusals).
#include "server/api_token.h"

#include <gtest/gtest.h>

#include <set>

#include "server/caller.h"
#include "store/memory_store.h"

namespace pgshift::server {
namespace {

TEST(ApiToken, HasThePrefixAnd43Base64UrlCharactersAndIsNeverRepeated) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto t = GenerateApiToken();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->size(), 4u + 43u);
    EXPECT_EQ(t->rfind("pgs_", 0), 0u);
    EXPECT_TRUE(LooksLikeApiToken(*t)) << *t;
    EXPECT_TRUE(seen.insert(*t).second);
  }
  EXPECT_FALSE(LooksLikeApiToken("pgs_short"));
  EXPECT_FALSE(LooksLikeApiToken("xyz_" + std::string(43, 'a')));
  EXPECT_FALSE(LooksLikeApiToken("pgs_" + std::string(42, 'a') + "!"));
}

TEST(ApiToken, HashIsSha256Hex) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("").size(), 64u);
}

TEST(ApiToken, ConstantTimeEqualsComparesWholeContents) {
  EXPECT_TRUE(ConstantTimeEquals("abcdef", "abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "xbcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

class IdentifyCallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = *GenerateApiToken();
    ASSERT_TRUE(store_.AddToken({Sha256Hex(token_), "payments", false, "pay-ci", 0}, 1).ok());
    admin_ = *GenerateApiToken();
    ASSERT_TRUE(store_.AddToken({Sha256Hex(admin_), "platform", true, "admin", 0}, 1).ok());
    config_.teams["payments"] = {.name = "payments", .client_cert_cns = {"payments-ci"}};
  }
  HttpRequest WithAuth(const std::string& value) {
    HttpRequest r;
    r.headers["authorization"] = value;
    return r;
  }
  MemoryStore store_;
  ServerConfig config_;
  std::string token_, admin_;
};

TEST_F(IdentifyCallerTest, AKnownTokenActsForItsTeam) {
  auto c = IdentifyCaller(WithAuth("Bearer " + token_), store_, config_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->identity, "token:pay-ci");
  EXPECT_EQ(c->team, "payments");
  EXPECT_FALSE(c->platform);
  auto a = IdentifyCaller(WithAuth("Bearer " + admin_), store_, config_);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->platform);
}

TEST_F(IdentifyCallerTest, UnknownMalformedOrMissingCredentialsAreUnauthenticated) {
  std::string other = *GenerateApiToken();
  for (const std::string& h :
       {"Bearer " + other, "Bearer " + token_ + "x", std::string("Basic abc"),
        std::string("Bearer "), std::string("token")}) {
    auto c = IdentifyCaller(WithAuth(h), store_, config_);
    ASSERT_FALSE(c.ok()) << h;
    EXPECT_EQ(c.status().code(), Code::kUnauthenticated);
    EXPECT_EQ(c.status().message().find(token_), std::string::npos);
  }
  auto none = IdentifyCaller(HttpRequest{}, store_, config_);
  EXPECT_EQ(none.status().code(), Code::kUnauthenticated);
}

TEST_F(IdentifyCallerTest, AVerifiedCertificateActsForTheTeamNamingItsCn) {
  HttpRequest r;
  r.peer_common_name = "payments-ci";
  auto c = IdentifyCaller(r, store_, config_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->identity, "cert:payments-ci");
  EXPECT_EQ(c->team, "payments");
  r.peer_common_name = "stranger";
  EXPECT_EQ(IdentifyCaller(r, store_, config_).status().code(), Code::kUnauthenticated);
}

TEST_F(IdentifyCallerTest, ACertificateOfThePlatformTeamIsPlatform) {
  config_.teams["platform"] = {.name = "platform", .client_cert_cns = {"ops"}};
  HttpRequest r;
  r.peer_common_name = "ops";
  auto c = IdentifyCaller(r, store_, config_);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->platform);
}

}  // namespace
}  // namespace pgshift::server
