// libFuzzer target over everything the proxy parses from untrusted peers: message framing
// (FrameDecoder, both directions), startup packets, error fields, statement scanning for
// carried state, and SCRAM server messages. Invariants are checked with __builtin_trap.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "proxy/carried_state.h"
#include "proxy/frame_decoder.h"
#include "proxy/scram_client.h"
#include "proxy/wire_format.h"

using namespace pgshift::proxy;

namespace {

struct Handler : FrameHandler {
  CarriedState state;
  bool WantsWhole(char type) const override {
    return type == 'Q' || type == 'P' || type == 'C' || type == 'Z';
  }
  MessageAction OnMessage(char type, std::string_view msg, bool complete) override {
    if (msg.size() < 5) __builtin_trap();
    if (!complete) return MessageAction::kForward;
    if (type == 'Q') state.OnQuery(msg);
    if (type == 'P') state.OnParse(msg);
    if (type == 'C') state.OnClose(msg);
    if (type == 'E') wire::ParseErrorFields(msg.substr(5));
    return MessageAction::kForward;
  }
};

void Decode(std::string_view data, FrameDecoder::Side side) {
  ByteBuffer buf(256);
  FrameDecoder d(side);
  Handler h;
  size_t fed = 0;
  // Feed in uneven chunks, forwarding as the decoder allows, like a session does.
  while (fed < data.size() || d.forwardable() > 0) {
    buf.Space();
    size_t n = std::min(buf.SpaceSize(), std::min<size_t>(data.size() - fed, 1 + fed % 97));
    if (n > 0) {
      buf.Append(data.substr(fed, n));
      fed += n;
    }
    auto out = d.Scan(buf, h);
    if (d.forwardable() > buf.size()) __builtin_trap();
    size_t f = d.forwardable();
    buf.Consume(f);
    d.Forwarded(f);
    if (out == FrameDecoder::Outcome::kMalformed || out == FrameDecoder::Outcome::kClose) return;
    if (n == 0 && f == 0) return;  // needs more than the input has
  }
  h.state.SetStatements();
  h.state.ParseMessages();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);
  Decode(data, FrameDecoder::Side::kFrontend);
  Decode(data, FrameDecoder::Side::kBackend);
  if (size >= 4) {
    std::map<std::string, std::string> params;
    wire::ParseStartupParams(data.substr(4), params);
  }
  // SCRAM: the input is a server-first message, then (after a newline) a server-final.
  size_t nl = data.find('\n');
  std::string_view first = data.substr(0, nl);
  if (first.find("i=") != std::string_view::npos && first.size() < 512) {
    size_t i = first.find("i=");
    size_t digits = 0;
    while (i + 2 + digits < first.size() && first[i + 2 + digits] >= '0' &&
           first[i + 2 + digits] <= '9')
      ++digits;
    if (digits <= 4) {  // keep PBKDF2 cheap for the fuzzer
      ScramClient c("pencil", "fuzznonce");
      auto fin = c.ClientFinal(first);
      if (fin.ok() && nl != std::string_view::npos) (void)c.VerifyServerFinal(data.substr(nl + 1));
    }
  }
  return 0;
}
