// MessagePump over socket pairs: only decided bytes move, holds keep the rest, composed
// messages go in only between whole messages, and batched sends are taken one at a time.
#include "proxy/message_pump.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "proxy/wire_format.h"

namespace pgshift::proxy {
namespace {

// A socket pair: `peer` is the test's end (blocking), `pumped` the pump's (non-blocking).
struct Pair {
  int peer = -1, pumped = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer = fds[0];
    pumped = fds[1];
    fcntl(pumped, F_SETFL, fcntl(pumped, F_GETFL) | O_NONBLOCK);
  }
  ~Pair() {
    if (peer >= 0) close(peer);
  }
  void Write(const std::string& bytes) const {
    ASSERT_EQ(write(peer, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  }
  std::string ReadAvailable() const {
    char buf[4096];
    ssize_t n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
  }
};

// Forwards everything except messages of `hold` type.
struct Recorder : FrameHandler {
  char hold = 0;
  std::vector<char> seen;
  bool WantsWhole(char) const override { return true; }
  MessageAction OnMessage(char type, std::string_view, bool) override {
    seen.push_back(type);
    return type == hold ? MessageAction::kHold : MessageAction::kForward;
  }
};

TEST(MessagePump, MovesOnlyWhatTheSessionDecided) {
  Pair client, backend;
  MessagePump pump(client.pumped, 1024);
  pump.AttachBackend(Transport(backend.pumped));
  std::string query = wire::Query("SELECT 1");
  client.Write(query + wire::Sync());
  pump.OnClientEvent(EPOLLIN);
  ASSERT_TRUE(pump.client_readable());
  EXPECT_EQ(pump.ReadClient(), ssize_t(query.size() + 5));
  Recorder handler;
  handler.hold = wire::type::kSync;
  EXPECT_EQ(pump.ScanFromClient(handler), FrameDecoder::Outcome::kHeld);
  EXPECT_EQ(handler.seen, (std::vector<char>{wire::type::kQuery, wire::type::kSync}));
  EXPECT_EQ(pump.to_backend_pending(), query.size());
  EXPECT_EQ(pump.SendToBackend(/*batched=*/false), MessagePump::Send::kSent);
  EXPECT_EQ(backend.ReadAvailable(), query);
  EXPECT_EQ(pump.to_backend_pending(), 0u);
  // The held Sync is presented again on the next scan.
  handler.hold = 0;
  EXPECT_EQ(pump.ScanFromClient(handler), FrameDecoder::Outcome::kNeedMore);
  EXPECT_EQ(pump.SendToBackend(false), MessagePump::Send::kSent);
  EXPECT_EQ(backend.ReadAvailable(), wire::Sync());
}

TEST(MessagePump, ComposesForTheClientOnlyBetweenWholeMessages) {
  Pair client, backend;
  MessagePump pump(client.pumped, 1024);
  pump.AttachBackend(Transport(backend.pumped));
  std::string notice = wire::ErrorResponse("FATAL", "57P01", "bye");
  std::string big = wire::Message('D', std::string(4000, 'x'));  // larger than the buffer
  backend.Write(big.substr(0, 100));
  EXPECT_EQ(pump.ReadBackend(), 100);
  Recorder handler;
  EXPECT_EQ(pump.ScanFromBackend(handler), FrameDecoder::Outcome::kNeedMore);
  EXPECT_FALSE(pump.backend_at_boundary());
  EXPECT_FALSE(pump.ComposeToClient(notice));
  EXPECT_EQ(pump.SendToClient(false), MessagePump::Send::kSent);
  backend.Write(big.substr(100));
  while (pump.backend_readable() || !pump.backend_at_boundary()) {
    pump.OnBackendEvent(EPOLLIN);
    ASSERT_GT(pump.ReadBackend(), 0);
    (void)pump.ScanFromBackend(handler);
    ASSERT_EQ(pump.SendToClient(false), MessagePump::Send::kSent);
  }
  std::string got;
  for (std::string part; !(part = client.ReadAvailable()).empty();) got += part;
  EXPECT_EQ(got, big);
  EXPECT_TRUE(pump.ComposeToClient(notice));
  EXPECT_EQ(pump.to_client_pending(), notice.size());
  EXPECT_EQ(pump.SendToClient(false), MessagePump::Send::kSent);
  EXPECT_EQ(client.ReadAvailable(), notice);
}

TEST(MessagePump, BatchedSendsAreQueuedOnceAndTakenWhenSubmitted) {
  Pair client, backend;
  MessagePump pump(client.pumped, 1024);
  pump.AttachBackend(Transport(backend.pumped));
  std::string query = wire::Query("SELECT 1");
  client.Write(query);
  ASSERT_GT(pump.ReadClient(), 0);
  Recorder handler;
  (void)pump.ScanFromClient(handler);
  EXPECT_EQ(pump.SendToBackend(/*batched=*/true), MessagePump::Send::kQueue);
  EXPECT_EQ(pump.SendToBackend(true), MessagePump::Send::kNone);  // already queued
  int fd = -1;
  const char* data = nullptr;
  size_t len = 0;
  bool more_after = true;
  ASSERT_TRUE(pump.TakeSend(/*to_backend=*/true, fd, data, len, more_after));
  EXPECT_EQ(fd, backend.pumped);
  EXPECT_EQ(std::string(data, len), query);
  ASSERT_EQ(write(fd, data, len), ssize_t(len));  // as the worker's ring would
  EXPECT_EQ(pump.SendDone(true, int(len)), MessagePump::Send::kSent);
  EXPECT_EQ(pump.to_backend_pending(), 0u);
  EXPECT_EQ(backend.ReadAvailable(), query);
  // Nothing left: a new queued send is taken as nothing.
  EXPECT_EQ(pump.SendToBackend(true), MessagePump::Send::kQueue);
  EXPECT_FALSE(pump.TakeSend(true, fd, data, len, more_after));
  EXPECT_EQ(pump.SendDone(true, -EPIPE), MessagePump::Send::kPeerLost);
}

TEST(MessagePump, ReportsAClosedPeerAndDetachesTheBackend) {
  Pair client, backend;
  MessagePump pump(client.pumped, 1024);
  pump.AttachBackend(Transport(backend.pumped));
  EXPECT_TRUE(pump.backend_readable());
  EXPECT_TRUE(pump.backend_writable());
  Transport old = pump.DetachBackend();
  EXPECT_TRUE(old.open());
  EXPECT_FALSE(pump.backend().open());
  EXPECT_FALSE(pump.backend_readable());
  EXPECT_FALSE(pump.backend_writable());
  close(client.peer);
  client.peer = -1;
  EXPECT_EQ(pump.ReadClient(), Transport::kClosed);
}

}  // namespace
}  // namespace pgshift::proxy
