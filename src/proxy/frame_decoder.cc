// Message boundary detection and length validation for both directions.
#include "proxy/frame_decoder.h"

#include "proxy/wire_format.h"

namespace pgshift::proxy {

bool IsFrontendType(char type) {
  switch (type) {
    case 'B':
    case 'C':
    case 'd':
    case 'c':
    case 'f':
    case 'D':
    case 'E':
    case 'H':
    case 'F':
    case 'P':
    case 'p':
    case 'Q':
    case 'S':
    case 'X':
      return true;
    default:
      return false;
  }
}

FrameDecoder::Outcome FrameDecoder::Scan(const ByteBuffer& buf, FrameHandler& handler) {
  for (;;) {
    size_t avail = buf.size() - decided_;
    if (passthrough_ > 0) {
      size_t take = passthrough_ < avail ? size_t(passthrough_) : avail;
      decided_ += take;
      passthrough_ -= take;
      if (passthrough_ > 0) return Outcome::kNeedMore;
      continue;
    }
    if (avail < 5) return Outcome::kNeedMore;
    const char* p = buf.data() + decided_;
    char type = p[0];
    uint32_t len = wire::ReadU32(p + 1);
    if (side_ == Side::kFrontend && !IsFrontendType(type)) {
      error_ = "unknown message type";
      return Outcome::kMalformed;
    }
    if (len < 4 || len > wire::kMaxMessageLength) {
      error_ = "invalid message length";
      return Outcome::kMalformed;
    }
    size_t total = size_t(len) + 1;
    bool whole = total <= avail;
    if (!whole && handler.WantsWhole(type) && total <= buf.capacity()) {
      return Outcome::kNeedMore;  // wait until all of it is in the buffer
    }
    MessageAction v = handler.OnMessage(type, std::string_view(p, whole ? total : 5), whole);
    if (v == MessageAction::kHold) return Outcome::kHeld;
    if (v == MessageAction::kClose) return Outcome::kClose;
    if (whole) {
      decided_ += total;
    } else {
      decided_ += avail;
      passthrough_ = total - avail;
    }
  }
}

}  // namespace pgshift::proxy
