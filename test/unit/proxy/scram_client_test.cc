// SCRAM-SHA-256 against the RFC 7677 test vector, and the md5 response format.
#include "proxy/scram_client.h"

#include <gtest/gtest.h>

namespace pgshift::proxy {
namespace {

TEST(ScramClient, MatchesRfc7677Vector) {
  ScramClient c("pencil", "rOprNGfwEbeRWgbNEkqO", "user");
  EXPECT_EQ(c.ClientFirst(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto fin = c.ClientFinal(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(fin.ok()) << fin.status().ToString();
  EXPECT_EQ(*fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_TRUE(c.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
  EXPECT_FALSE(c.VerifyServerFinal("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
  EXPECT_FALSE(c.VerifyServerFinal("e=invalid-proof").ok());
}

TEST(ScramClient, RefusesANonceThatDoesNotExtendOurs) {
  ScramClient c("pencil", "abc");
  EXPECT_EQ(c.ClientFinal("r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").status().code(),
            Code::kUnauthenticated);
  EXPECT_FALSE(c.ClientFinal("r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0").ok());
  EXPECT_FALSE(c.ClientFinal("r=abc123,s=!!!!,i=4096").ok());
  EXPECT_FALSE(c.ClientFinal("garbage").ok());
}

TEST(ScramClient, RefusesAnIterationCountBelow4096) {
  ScramClient c("pencil", "abc");
  auto low = c.ClientFinal("r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095");
  EXPECT_EQ(low.status().code(), Code::kUnauthenticated);
  EXPECT_NE(low.status().message().find("iteration count 4095 is below 4096"), std::string::npos)
      << low.status().message();
  EXPECT_TRUE(c.ClientFinal("r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").ok());
}

TEST(ScramClient, IsVerifiedOnlyByTheServersSignature) {
  ScramClient c("pencil", "rOprNGfwEbeRWgbNEkqO", "user");
  EXPECT_FALSE(c.verified());
  // Before server-first, an empty signature must not match the (unset) expected one.
  EXPECT_FALSE(c.VerifyServerFinal("v=").ok());
  ASSERT_TRUE(c.ClientFinal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                            "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                  .ok());
  EXPECT_FALSE(c.VerifyServerFinal("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
  EXPECT_FALSE(c.verified());
  EXPECT_TRUE(c.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
  EXPECT_TRUE(c.verified());
}

TEST(ScramClient, BindsToTheServerCertificateHash) {
  std::string hash(32, '\x5a');
  ScramClient bound("pencil", "abc", "", ScramBinding::kEndPoint, hash);
  EXPECT_EQ(bound.Mechanism(), "SCRAM-SHA-256-PLUS");
  EXPECT_EQ(bound.ClientFirst(), "p=tls-server-end-point,,n=,r=abc");
  auto fin = bound.ClientFinal("r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(fin.ok()) << fin.status().ToString();
  EXPECT_EQ(fin->rfind("c=" + Base64Encode("p=tls-server-end-point,," + hash) + ",r=abc123,p=", 0),
            0u)
      << *fin;

  ScramClient not_offered("pencil", "abc", "", ScramBinding::kNotOffered);
  EXPECT_EQ(not_offered.Mechanism(), "SCRAM-SHA-256");
  EXPECT_EQ(not_offered.ClientFirst(), "y,,n=,r=abc");
  auto y = not_offered.ClientFinal("r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->rfind("c=eSws,r=abc123,p=", 0), 0u) << *y;  // eSws = base64("y,,")
}

TEST(ScramClient, RandomNoncesDiffer) {
  EXPECT_NE(ScramClient("p").ClientFirst(), ScramClient("p").ClientFirst());
}

TEST(Md5Password, MatchesPostgresFormula) {
  // md5(md5("secret" + "alice") + salt); computed independently with Python's hashlib.
  std::string salt("\x01\x02\x03\x04", 4);
  EXPECT_EQ(Md5PasswordResponse("alice", "secret", salt), "md598a0412b9c31436fc53776e863350083");
}

TEST(Base64, RoundTrips) {
  std::string out;
  ASSERT_TRUE(Base64Decode(Base64Encode(std::string("\x00\xff\x10z", 4)), out));
  EXPECT_EQ(out, std::string("\x00\xff\x10z", 4));
  EXPECT_FALSE(Base64Decode("abc", out));
}

}  // namespace
}  // namespace pgshift::proxy
