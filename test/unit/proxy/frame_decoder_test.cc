// FrameDecoder: boundaries, streaming of large messages, holding, malformed input.
#include "proxy/frame_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/wire_format.h"

namespace pgshift::proxy {
namespace {

struct Recorder : FrameHandler {
  std::vector<std::pair<char, bool>> seen;  // type, complete
  char hold_on = 0;
  bool WantsWhole(char type) const override { return type == 'Q'; }
  MessageAction OnMessage(char type, std::string_view, bool complete) override {
    if (type == hold_on) return MessageAction::kHold;
    seen.emplace_back(type, complete);
    return MessageAction::kForward;
  }
};

void Put(ByteBuffer& b, const std::string& bytes) { ASSERT_TRUE(b.Append(bytes)); }

TEST(FrameDecoder, FindsBoundariesAcrossPartialReads) {
  ByteBuffer buf(1024);
  FrameDecoder d(FrameDecoder::Side::kFrontend);
  Recorder r;
  std::string two = wire::Query("select 1") + wire::Sync();
  Put(buf, two.substr(0, 7));
  EXPECT_EQ(d.Scan(buf, r), FrameDecoder::Outcome::kNeedMore);
  EXPECT_EQ(d.forwardable(), 0u);  // a whole-wanted Query is not forwarded in pieces
  Put(buf, two.substr(7));
  EXPECT_EQ(d.Scan(buf, r), FrameDecoder::Outcome::kNeedMore);
  EXPECT_EQ(d.forwardable(), two.size());
  ASSERT_EQ(r.seen.size(), 2u);
  EXPECT_EQ(r.seen[0], std::make_pair('Q', true));
  EXPECT_EQ(r.seen[1], std::make_pair('S', true));
}

TEST(FrameDecoder, StreamsMessagesLargerThanTheBuffer) {
  ByteBuffer buf(64);
  FrameDecoder d(FrameDecoder::Side::kFrontend);
  Recorder r;
  std::string big = wire::Message('d', std::string(200, 'x'));  // CopyData
  size_t sent = 0, forwarded = 0;
  while (sent < big.size() || d.forwardable() > 0) {
    size_t n = std::min(buf.capacity() - buf.size(), big.size() - sent);
    Put(buf, big.substr(sent, n));
    sent += n;
    d.Scan(buf, r);
    size_t f = d.forwardable();
    buf.Consume(f);
    d.Forwarded(f);
    forwarded += f;
  }
  EXPECT_EQ(forwarded, big.size());
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_FALSE(r.seen[0].second);  // presented by header only
  EXPECT_TRUE(d.AtBoundary());
}

TEST(FrameDecoder, HoldLeavesTheMessageForLater) {
  ByteBuffer buf(1024);
  FrameDecoder d(FrameDecoder::Side::kFrontend);
  Recorder r;
  r.hold_on = 'Q';
  Put(buf, wire::Sync() + wire::Query("select 1"));
  EXPECT_EQ(d.Scan(buf, r), FrameDecoder::Outcome::kHeld);
  EXPECT_EQ(d.forwardable(), 5u);  // only the Sync
  r.hold_on = 0;
  EXPECT_EQ(d.Scan(buf, r), FrameDecoder::Outcome::kNeedMore);
  EXPECT_EQ(d.forwardable(), buf.size());
}

TEST(FrameDecoder, RejectsLengthsBelowFourOrAboveOneGiB) {
  for (uint32_t len : {0u, 3u, (1u << 30) + 1, 0xffffffffu}) {
    ByteBuffer buf(64);
    FrameDecoder d(FrameDecoder::Side::kFrontend);
    Recorder r;
    std::string m = "Q";
    wire::AppendU32(m, len);
    Put(buf, m);
    EXPECT_EQ(d.Scan(buf, r), FrameDecoder::Outcome::kMalformed) << len;
    EXPECT_STREQ(d.error(), "invalid message length");
  }
}

TEST(FrameDecoder, RejectsUnknownFrontendTypes) {
  ByteBuffer buf(64);
  FrameDecoder d(FrameDecoder::Side::kFrontend);
  Recorder r;
  Put(buf, std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8));  // a startup packet mid-session
  EXPECT_EQ(d.Scan(buf, r), FrameDecoder::Outcome::kMalformed);
  EXPECT_STREQ(d.error(), "unknown message type");
}

TEST(WireFormat, ParsesStartupParameters) {
  std::string pkt = wire::StartupMessage({{"user", "app"}, {"database", "orders"}});
  std::map<std::string, std::string> params;
  ASSERT_TRUE(wire::ParseStartupParams(std::string_view(pkt).substr(4), params));
  EXPECT_EQ(params["user"], "app");
  EXPECT_EQ(params["database"], "orders");
  std::map<std::string, std::string> p2;
  EXPECT_FALSE(wire::ParseStartupParams(std::string_view(pkt).substr(4, pkt.size() - 5), p2));
  std::string v2 = pkt;
  v2[5] = 2;  // protocol 2.x
  EXPECT_FALSE(wire::ParseStartupParams(std::string_view(v2).substr(4), p2));
}

}  // namespace
}  // namespace pgshift::proxy
