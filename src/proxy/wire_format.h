// PostgreSQL protocol v3 wire constants and the few messages the proxy composes itself
// (errors, authentication results, startup, cancel). Composing allocates; it happens only at
// connection setup, on errors and on a switch, never on the forwarding path.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace pgshift::proxy::wire {

constexpr int32_t kProtocolV3 = 196608;        // 3.0
constexpr int32_t kSslRequestCode = 80877103;  // 1234.5679
constexpr int32_t kGssEncRequestCode = 80877104;
constexpr int32_t kCancelRequestCode = 80877102;
constexpr uint32_t kMaxMessageLength = 1u << 30;  // 1 GiB, PostgreSQL's own ceiling
constexpr uint32_t kMaxStartupLength = 10000;     // PostgreSQL's MAX_STARTUP_PACKET_LENGTH

// Message type bytes the proxy acts on (protocol 3.0).
namespace type {
// Frontend.
constexpr char kQuery = 'Q';
constexpr char kParse = 'P';
constexpr char kClose = 'C';
constexpr char kSync = 'S';
constexpr char kFunctionCall = 'F';
constexpr char kCopyData = 'd';
constexpr char kCopyDone = 'c';
constexpr char kCopyFail = 'f';
constexpr char kTerminate = 'X';
// Backend.
constexpr char kReadyForQuery = 'Z';
constexpr char kErrorResponse = 'E';
constexpr char kParseComplete = '1';
}  // namespace type

// Transaction status of a ReadyForQuery: idle, in a transaction, in a failed transaction.
constexpr char kTxIdle = 'I';
constexpr char kTxInBlock = 'T';
constexpr char kTxFailed = 'E';

// The one-byte answers to an SSLRequest / GSSENCRequest.
constexpr char kEncryptionAccepted = 'S';
constexpr char kEncryptionRefused = 'N';

inline uint32_t ReadU32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t(u[0]) << 24) | (uint32_t(u[1]) << 16) | (uint32_t(u[2]) << 8) | u[3];
}
inline uint16_t ReadU16(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return uint16_t((u[0] << 8) | u[1]);
}
void AppendU32(std::string& out, uint32_t v);
void AppendU16(std::string& out, uint16_t v);

// A typed message: type byte, length, body.
std::string Message(char type, std::string_view body);

// ErrorResponse (or NoticeResponse with type 'N') with severity, SQLSTATE and message.
std::string ErrorResponse(std::string_view severity, std::string_view sqlstate,
                          std::string_view message, std::string_view hint = {});
std::string AuthenticationOk();
std::string ParameterStatus(std::string_view name, std::string_view value);
std::string BackendKeyData(uint32_t pid, uint32_t secret);
std::string ReadyForQuery(char status);
std::string Query(std::string_view sql);
std::string Sync();
std::string Terminate();

// Untyped startup packet: protocol 3.0 and key/value parameters.
std::string StartupMessage(const std::map<std::string, std::string>& params);
std::string CancelRequest(uint32_t pid, uint32_t secret);

// What the front of a client's input holds before the message stream starts: an untyped
// packet (length word, then a 32-bit code).
struct StartupPacket {
  enum class Kind {
    kIncomplete,  // not all of it has arrived
    kBadLength,   // its length is below 8 or above kMaxStartupLength
    kSslRequest,
    kGssEncRequest,
    kCancelRequest,
    kStartupMessage,  // any other code: ParseStartupParams checks the protocol version
  };
  Kind kind = Kind::kIncomplete;
  uint32_t length = 0;    // of the whole packet, once its length word has arrived
  std::string_view body;  // after the length word (code first), when complete
};
StartupPacket ReadStartupPacket(std::string_view input);

// The key of a CancelRequest body (after the length word); false if it has the wrong size.
bool ReadCancelKey(std::string_view body, uint32_t& pid, uint32_t& secret);

// Parses a startup packet body (after the length word): the protocol code, then for a
// StartupMessage its parameters. False when malformed (unterminated strings, odd pairs).
bool ParseStartupParams(std::string_view body, std::map<std::string, std::string>& params);

// The transaction status of a whole ReadyForQuery message (type byte included), or 0 when
// `msg` is too short to be one.
inline char ReadyForQueryStatus(std::string_view msg) { return msg.size() >= 6 ? msg[5] : 0; }

// Whether a whole ErrorResponse/NoticeResponse message (type byte included) has SQLSTATE
// `sqlstate` in its code field. Walks the fields in place: no allocation.
bool HasSqlstate(std::string_view msg, std::string_view sqlstate);

// Fields of an ErrorResponse/NoticeResponse body by code ('S','C','M'...).
std::map<char, std::string> ParseErrorFields(std::string_view body);

}  // namespace pgshift::proxy::wire
