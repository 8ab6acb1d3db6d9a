// The wire helpers the session reads the protocol through: startup packets, ReadyForQuery,
// the SQLSTATE of an error.
#include "proxy/wire_format.h"

#include <gtest/gtest.h>

namespace pgshift::proxy::wire {
namespace {

using Kind = StartupPacket::Kind;

std::string Packet(int32_t code, std::string_view rest = {}) {
  std::string out;
  AppendU32(out, uint32_t(8 + rest.size()));
  AppendU32(out, uint32_t(code));
  out.append(rest);
  return out;
}

TEST(WireFormat, ReadsStartupPacketsByCode) {
  EXPECT_EQ(ReadStartupPacket(Packet(kSslRequestCode)).kind, Kind::kSslRequest);
  EXPECT_EQ(ReadStartupPacket(Packet(kGssEncRequestCode)).kind, Kind::kGssEncRequest);
  std::string startup = StartupMessage({{"user", "app"}});
  StartupPacket p = ReadStartupPacket(startup);
  EXPECT_EQ(p.kind, Kind::kStartupMessage);
  EXPECT_EQ(p.length, startup.size());
  std::map<std::string, std::string> params;
  ASSERT_TRUE(ParseStartupParams(p.body, params));
  EXPECT_EQ(params["user"], "app");
}

TEST(WireFormat, StartupPacketsWaitForAllTheirBytesAndRefuseBadLengths) {
  std::string startup = StartupMessage({{"user", "app"}});
  EXPECT_EQ(ReadStartupPacket(startup.substr(0, 3)).kind, Kind::kIncomplete);
  EXPECT_EQ(ReadStartupPacket(startup.substr(0, startup.size() - 1)).kind, Kind::kIncomplete);
  std::string tiny;
  AppendU32(tiny, 7);
  EXPECT_EQ(ReadStartupPacket(tiny).kind, Kind::kBadLength);
  std::string huge;
  AppendU32(huge, kMaxStartupLength + 1);
  EXPECT_EQ(ReadStartupPacket(huge).kind, Kind::kBadLength);
}

TEST(WireFormat, ReadsTheCancelKey) {
  std::string cancel = CancelRequest(1234, 5678);
  StartupPacket p = ReadStartupPacket(cancel);
  ASSERT_EQ(p.kind, Kind::kCancelRequest);
  uint32_t pid = 0, secret = 0;
  ASSERT_TRUE(ReadCancelKey(p.body, pid, secret));
  EXPECT_EQ(pid, 1234u);
  EXPECT_EQ(secret, 5678u);
  EXPECT_FALSE(ReadCancelKey(ReadStartupPacket(Packet(kCancelRequestCode)).body, pid, secret));
}

TEST(WireFormat, ReadyForQueryStatus) {
  EXPECT_EQ(ReadyForQueryStatus(ReadyForQuery(kTxInBlock)), kTxInBlock);
  EXPECT_EQ(ReadyForQueryStatus(ReadyForQuery(kTxIdle)), kTxIdle);
  EXPECT_EQ(ReadyForQueryStatus(std::string_view("Z\0\0\0", 4)), 0);
}

TEST(WireFormat, HasSqlstateLooksAtTheCodeFieldOnly) {
  EXPECT_TRUE(HasSqlstate(ErrorResponse("FATAL", "57P01", "terminating connection"), "57P01"));
  EXPECT_FALSE(HasSqlstate(ErrorResponse("FATAL", "57P02", "crash shutdown"), "57P01"));
  // The code's text elsewhere (here in the message) does not count.
  EXPECT_FALSE(HasSqlstate(ErrorResponse("ERROR", "42000", "C57P01"), "57P01"));
  EXPECT_FALSE(HasSqlstate("E", "57P01"));
}

}  // namespace
}  // namespace pgshift::proxy::wire
