// FrameDecoder: finds PostgreSQL v3 message boundaries in a ByteBuffer and asks a handler
// what to do with each message; it decides nothing itself (the session does). Messages the
// handler wants to read whole are presented whole when they fit in the buffer; all others
// (and oversized ones) are seen by their 5-byte header and their bodies stream through, so
// a 100 MB COPY row needs no 100 MB buffer. Nothing here allocates.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/byte_buffer.h"

namespace pgshift::proxy {

enum class MessageAction { kForward, kHold, kClose };

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // Whether messages of `type` should be presented whole (small control messages).
  virtual bool WantsWhole(char type) const = 0;
  // `msg` is the whole message when `complete`, else its 5-byte header only. kHold leaves
  // the message (and everything after it) in the buffer, to be presented again later.
  virtual MessageAction OnMessage(char type, std::string_view msg, bool complete) = 0;
};

class FrameDecoder {
 public:
  enum class Side { kFrontend, kBackend };  // who sends the bytes being decoded
  explicit FrameDecoder(Side side) : side_(side) {}

  enum class Outcome { kNeedMore, kHeld, kClose, kMalformed };
  // Presents every message after the already-decided prefix. Afterwards forwardable() bytes
  // at the buffer's front may be written out.
  Outcome Scan(const ByteBuffer& buf, FrameHandler& handler);
  size_t forwardable() const { return decided_; }
  // The caller wrote (and consumed from the buffer) n of the forwardable bytes.
  void Forwarded(size_t n) { decided_ -= n; }
  // The caller appended n bytes of whole messages it composed right after the decided
  // prefix (only valid when everything buffered is decided and AtBoundary()).
  void Injected(size_t n) { decided_ += n; }
  // Why the last kMalformed happened (a static string).
  const char* error() const { return error_; }
  // True between messages: no body is streaming through.
  bool AtBoundary() const { return passthrough_ == 0; }
  void Reset() { decided_ = 0, passthrough_ = 0; }

 private:
  Side side_;
  size_t decided_ = 0;        // bytes at the buffer's front already judged forwardable
  uint64_t passthrough_ = 0;  // body bytes of a streaming message still to come
  const char* error_ = "";
};

// Message types a frontend (client) may send in protocol 3.0 after startup.
bool IsFrontendType(char type);

}  // namespace pgshift::proxy
