// Composition and parsing of the handful of messages the proxy builds or reads itself.
#include "proxy/wire_format.h"

namespace pgshift::proxy::wire {

void AppendU32(std::string& out, uint32_t v) {
  out.push_back(char(v >> 24));
  out.push_back(char(v >> 16));
  out.push_back(char(v >> 8));
  out.push_back(char(v));
}
void AppendU16(std::string& out, uint16_t v) {
  out.push_back(char(v >> 8));
  out.push_back(char(v));
}

std::string Message(char type, std::string_view body) {
  std::string m;
  m.reserve(body.size() + 5);
  m.push_back(type);
  AppendU32(m, uint32_t(body.size() + 4));
  m.append(body);
  return m;
}

static void AppendCString(std::string& out, std::string_view s) {
  out.append(s);
  out.push_back('\0');
}

std::string ErrorResponse(std::string_view severity, std::string_view sqlstate,
                          std::string_view message, std::string_view hint) {
  std::string body;
  body.push_back('S');
  AppendCString(body, severity);
  body.push_back('V');
  AppendCString(body, severity);
  body.push_back('C');
  AppendCString(body, sqlstate);
  body.push_back('M');
  AppendCString(body, message);
  if (!hint.empty()) {
    body.push_back('H');
    AppendCString(body, hint);
  }
  body.push_back('\0');
  return Message('E', body);
}

std::string AuthenticationOk() {
  std::string body;
  AppendU32(body, 0);
  return Message('R', body);
}

std::string ParameterStatus(std::string_view name, std::string_view value) {
  std::string body;
  AppendCString(body, name);
  AppendCString(body, value);
  return Message('S', body);
}

std::string BackendKeyData(uint32_t pid, uint32_t secret) {
  std::string body;
  AppendU32(body, pid);
  AppendU32(body, secret);
  return Message('K', body);
}

std::string ReadyForQuery(char status) { return Message('Z', std::string_view(&status, 1)); }

std::string Query(std::string_view sql) {
  std::string body(sql);
  body.push_back('\0');
  return Message('Q', body);
}

std::string Sync() { return Message('S', {}); }
std::string Terminate() { return Message('X', {}); }

std::string StartupMessage(const std::map<std::string, std::string>& params) {
  std::string body;
  AppendU32(body, kProtocolV3);
  for (const auto& [k, v] : params) {
    AppendCString(body, k);
    AppendCString(body, v);
  }
  body.push_back('\0');
  std::string m;
  AppendU32(m, uint32_t(body.size() + 4));
  return m + body;
}

std::string CancelRequest(uint32_t pid, uint32_t secret) {
  std::string m;
  AppendU32(m, 16);
  AppendU32(m, kCancelRequestCode);
  AppendU32(m, pid);
  AppendU32(m, secret);
  return m;
}

bool ParseStartupParams(std::string_view body, std::map<std::string, std::string>& params) {
  if (body.size() < 4 || ReadU32(body.data()) != uint32_t(kProtocolV3)) return false;
  size_t i = 4;
  while (i < body.size()) {
    if (body[i] == '\0') return i + 1 == body.size();  // the terminating empty name
    size_t kend = body.find('\0', i);
    if (kend == std::string_view::npos) return false;
    size_t vend = body.find('\0', kend + 1);
    if (vend == std::string_view::npos) return false;
    params[std::string(body.substr(i, kend - i))] =
        std::string(body.substr(kend + 1, vend - kend - 1));
    i = vend + 1;
  }
  return false;  // no terminator
}

std::map<char, std::string> ParseErrorFields(std::string_view body) {
  std::map<char, std::string> f;
  size_t i = 0;
  while (i < body.size() && body[i] != '\0') {
    char code = body[i++];
    size_t end = body.find('\0', i);
    if (end == std::string_view::npos) break;
    f[code] = std::string(body.substr(i, end - i));
    i = end + 1;
  }
  return f;
}

StartupPacket ReadStartupPacket(std::string_view input) {
  StartupPacket packet;
  if (input.size() < 4) return packet;
  packet.length = ReadU32(input.data());
  if (packet.length < 8 || packet.length > kMaxStartupLength) {
    packet.kind = StartupPacket::Kind::kBadLength;
    return packet;
  }
  if (input.size() < packet.length) return packet;
  packet.body = input.substr(4, packet.length - 4);
  switch (int32_t(ReadU32(packet.body.data()))) {
    case kSslRequestCode:
      packet.kind = StartupPacket::Kind::kSslRequest;
      break;
    case kGssEncRequestCode:
      packet.kind = StartupPacket::Kind::kGssEncRequest;
      break;
    case kCancelRequestCode:
      packet.kind = StartupPacket::Kind::kCancelRequest;
      break;
    default:
      packet.kind = StartupPacket::Kind::kStartupMessage;
  }
  return packet;
}

bool ReadCancelKey(std::string_view body, uint32_t& pid, uint32_t& secret) {
  if (body.size() != 12) return false;
  pid = ReadU32(body.data() + 4);
  secret = ReadU32(body.data() + 8);
  return true;
}

bool HasSqlstate(std::string_view msg, std::string_view sqlstate) {
  if (msg.size() < 5) return false;
  std::string_view body = msg.substr(5);
  size_t i = 0;
  while (i < body.size() && body[i] != '\0') {
    char code = body[i++];
    size_t end = body.find('\0', i);
    if (end == std::string_view::npos) return false;
    if (code == 'C') return body.substr(i, end - i) == sqlstate;
    i = end + 1;
  }
  return false;
}

}  // namespace pgshift::proxy::wire
