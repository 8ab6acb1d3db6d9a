// Malformed protocol input closes only the offending session, with an ErrorResponse
// where the stream allows one; the proxy keeps serving everyone else.
#include <gtest/gtest.h>

#include "proxy/wire_format.h"
#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

namespace wire = proxy::wire;

std::string Startup() { return wire::StartupMessage({{"user", "app"}, {"database", "orders"}}); }

// The SQLSTATE of the first ErrorResponse in `bytes`, "" if none.
std::string SqlState(const std::string& bytes) {
  size_t i = 0;
  while (i + 5 <= bytes.size()) {
    uint32_t len = wire::ReadU32(bytes.data() + i + 1);
    if (len < 4 || i + 1 + len > bytes.size()) break;
    if (bytes[i] == 'E')
      return wire::ParseErrorFields(std::string_view(bytes).substr(i + 5, len - 4))['C'];
    i += 1 + len;
  }
  return "";
}

class ProxyMalformedInput : public ::testing::Test {
 protected:
  // Plain client side so that raw bytes reach the session logic after startup.
  ProxyHarness h{HarnessOptions{.client_tls = false}};

  void ExpectProxyStillServes() {
    auto c = PgConnection::Connect(*ConnInfo::Parse(h.ConnString(nullptr), "proxy"));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(*c->QueryValue("select 7"), "7");
  }
  // A raw client past startup and login.
  std::unique_ptr<RawClient> LoggedIn() {
    auto raw = std::make_unique<RawClient>(h.proxy->port());
    EXPECT_TRUE(raw->Send(Startup()));
    std::string hello = raw->ReadUntilReady();
    EXPECT_FALSE(hello.empty());
    EXPECT_EQ(hello[0], 'R');
    return raw;
  }
};

TEST_F(ProxyMalformedInput, TruncatedStartupThenHangUp) {
  auto bystander = PgConnection::Connect(*ConnInfo::Parse(h.ConnString(nullptr), "proxy"));
  ASSERT_TRUE(bystander.ok());
  {
    RawClient raw(h.proxy->port());
    ASSERT_TRUE(raw.Send(Startup().substr(0, 11)));
  }  // closed mid-packet
  EXPECT_EQ(*bystander->QueryValue("select 1"), "1");
  ExpectProxyStillServes();
}

TEST_F(ProxyMalformedInput, AbsurdStartupLength) {
  RawClient raw(h.proxy->port());
  ASSERT_TRUE(raw.Send(std::string("\x7f\xff\xff\xff\x00\x03\x00\x00", 8)));
  std::string reply = raw.ReadUntilClosed();
  EXPECT_EQ(SqlState(reply), "08P01");
  EXPECT_TRUE(raw.closed());
  ExpectProxyStillServes();
}

TEST_F(ProxyMalformedInput, OversizedMessageLengthAfterLogin) {
  auto raw = LoggedIn();
  ASSERT_TRUE(raw->Send(std::string("Q\x7f\xff\xff\xff", 5)));
  std::string reply = raw->ReadUntilClosed();
  EXPECT_EQ(SqlState(reply), "08P01");
  EXPECT_NE(reply.find("invalid message length"), std::string::npos);
  EXPECT_TRUE(raw->closed());
  ExpectProxyStillServes();
  EXPECT_GE(h.Metric("pgshift_proxy_protocol_errors_total"), 1);
}

TEST_F(ProxyMalformedInput, GarbageAfterLogin) {
  auto raw = LoggedIn();
  ASSERT_TRUE(raw->Send(std::string("\x01\x02\x03\x04\x05\x06\x07\x08garbage", 15)));
  std::string reply = raw->ReadUntilClosed();
  EXPECT_EQ(SqlState(reply), "08P01");
  EXPECT_TRUE(raw->closed());
  ExpectProxyStillServes();
}

TEST_F(ProxyMalformedInput, SecondStartupMessageDuringAuthentication) {
  RawClient raw(h.proxy->port());
  ASSERT_TRUE(raw.Send(Startup() + Startup()));
  std::string reply = raw.ReadUntilClosed();
  EXPECT_EQ(SqlState(reply), "08P01");
  EXPECT_TRUE(raw.closed());
  ExpectProxyStillServes();
}

TEST_F(ProxyMalformedInput, StartupMessageAfterLoginIsNotAMessageType) {
  auto raw = LoggedIn();
  ASSERT_TRUE(raw->Send(Startup()));
  std::string reply = raw->ReadUntilClosed();
  EXPECT_EQ(SqlState(reply), "08P01");
  EXPECT_NE(reply.find("unknown message type"), std::string::npos);
  ExpectProxyStillServes();
}

TEST(ProxyMalformedTls, BytesAfterSslRequestBeforeTheHandshake) {
  ProxyHarness h;  // TLS on
  RawClient raw(h.proxy->port());
  std::string ssl_request;
  wire::AppendU32(ssl_request, 8);
  wire::AppendU32(ssl_request, wire::kSslRequestCode);
  ASSERT_TRUE(raw.Send(ssl_request + Startup()));  // CVE-2021-23214 shape
  std::string reply = raw.ReadUntilClosed();
  EXPECT_EQ(SqlState(reply), "08P01");
  EXPECT_TRUE(raw.closed());
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
}

TEST(ProxyMalformedTls, GssEncRequestIsDeclinedAndTlsFollows) {
  ProxyHarness h;
  RawClient raw(h.proxy->port());
  std::string gss;
  wire::AppendU32(gss, 8);
  wire::AppendU32(gss, wire::kGssEncRequestCode);
  ASSERT_TRUE(raw.Send(gss));
  EXPECT_EQ(raw.ReadExactly(1), "N");
  // The proxy waits for the next request; a plain startup is refused for lack of TLS.
  ASSERT_TRUE(raw.Send(Startup()));
  EXPECT_EQ(SqlState(raw.ReadUntilClosed()), "28000");
}

}  // namespace
}  // namespace pgshift::testing
