// Reads, writes and batched sends of a session's two byte streams.
#include "proxy/message_pump.h"

#include <sys/epoll.h>

#include <cerrno>

namespace pgshift::proxy {

MessagePump::MessagePump(int client_fd, size_t buffer_bytes)
    : client_(client_fd),
      up_(FrameDecoder::Side::kFrontend, buffer_bytes),
      down_(FrameDecoder::Side::kBackend, buffer_bytes) {
  up_.source_readable = true;  // a client may have sent its startup before we look
  down_.sink_writable = true;
}

void MessagePump::OnClientEvent(uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) up_.source_readable = true;
  if (events & EPOLLOUT) down_.sink_writable = true;
  if (client_.tls()) up_.source_readable = down_.sink_writable = true;
}

void MessagePump::OnBackendEvent(uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) down_.source_readable = true;
  if (events & EPOLLOUT) up_.sink_writable = true;
  if (backend_.tls()) down_.source_readable = up_.sink_writable = true;
}

void MessagePump::AttachBackend(Transport backend) {
  backend_ = std::move(backend);
  down_.source_readable = up_.sink_writable = true;
}

Transport MessagePump::DetachBackend() {
  if (backend_.open()) down_.source_readable = up_.sink_writable = false;
  return std::move(backend_);
}

ssize_t MessagePump::Read(Transport& source, Flow& flow) {
  char* space = flow.buffer.Space();
  size_t room = flow.buffer.SpaceSize();
  if (room == 0) return 0;
  ssize_t n = source.Read(space, room);
  if (n == Transport::kClosed) return n;
  if (n > 0) {
    flow.buffer.Commit(size_t(n));
    // A short plain read drained the socket; the next arrival raises a new edge.
    if (size_t(n) < room && !source.tls()) flow.source_readable = false;
  } else {
    flow.source_readable = false;
  }
  return n;
}

MessagePump::Send MessagePump::Write(Transport& sink, Flow& flow, bool batched) {
  if (batched && !sink.tls()) {
    if (flow.send_queued) return Send::kNone;
    flow.send_queued = true;
    return Send::kQueue;
  }
  ssize_t sent = sink.Write(flow.buffer.data(), flow.decoder.forwardable());
  if (sent == Transport::kClosed) return Send::kPeerLost;
  if (sent > 0) {
    Sent(flow, size_t(sent));
    return Send::kSent;
  }
  flow.sink_writable = false;
  return Send::kNone;
}

bool MessagePump::TakeSend(bool to_backend, int& fd, const char*& data, size_t& len,
                           bool& more_after) {
  Flow& flow = to_backend ? up_ : down_;
  Transport& sink = to_backend ? backend_ : client_;
  size_t n = flow.decoder.forwardable();
  // The backend may have gone since the send was queued.
  if (!sink.open() || sink.tls() || n == 0) {
    flow.send_queued = false;
    return false;
  }
  fd = sink.fd();
  data = flow.buffer.data();
  len = n;
  more_after = flow.source_readable;
  return true;
}

MessagePump::Send MessagePump::SendDone(bool to_backend, int result) {
  Flow& flow = to_backend ? up_ : down_;
  flow.send_queued = false;
  if (result == -EAGAIN || result == -EWOULDBLOCK) {
    flow.sink_writable = false;  // the next EPOLLOUT edge resumes
    return Send::kNone;
  }
  if (result < 0 && result != -EINTR) return Send::kPeerLost;
  if (result > 0) {
    Sent(flow, size_t(result));
    return Send::kSent;
  }
  return Send::kNone;
}

bool MessagePump::ComposeToClient(std::string_view bytes) {
  // Only between whole backend messages, or the client would see a spliced stream.
  if (!down_.decoder.AtBoundary() || down_.decoder.forwardable() != down_.buffer.size()) {
    return false;
  }
  if (!down_.buffer.Append(bytes)) return false;
  down_.decoder.Injected(bytes.size());
  return true;
}

}  // namespace pgshift::proxy
