// ScramClient: the client side of SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL speaks it,
// with or without channel binding (SCRAM-SHA-256-PLUS, tls-server-end-point, RFC 5929). The
// proxy uses it to log in to backends with the password it holds. Passwords are used as given
// (no SASLprep): ASCII passwords only.
//
// What it refuses of a server (kUnauthenticated): a nonce that does not extend the client's,
// an iteration count below kMinScramIterations (a cheap verifier an impostor can offer to
// brute-force the proof), and a server-final-message whose signature does not prove the
// server knows the password.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace pgshift::proxy {

// PostgreSQL's default; fewer makes the proof cheap to attack offline.
constexpr int kMinScramIterations = 4096;

enum class ScramBinding {
  kNone,        // "n,,": no TLS
  kNotOffered,  // "y,,": TLS, but the server did not offer -PLUS (it refuses if it did)
  kEndPoint,    // "p=tls-server-end-point,,": bound to the server's certificate
};

class ScramClient {
 public:
  // `nonce` empty -> a random one (tests pass a fixed nonce to check RFC vectors).
  // PostgreSQL ignores the SCRAM user name (it uses the startup packet's): leave it empty.
  // `binding_data` is the tls-server-end-point hash (ServerEndPointHash) for kEndPoint.
  ScramClient(std::string password, std::string nonce = "", std::string user = "",
              ScramBinding binding = ScramBinding::kNone, std::string binding_data = "");

  // "SCRAM-SHA-256" or "SCRAM-SHA-256-PLUS".
  std::string Mechanism() const;
  // client-first-message, e.g. "n,,n=,r=<nonce>".
  std::string ClientFirst() const;
  // Consumes server-first-message; returns client-final-message. kUnauthenticated when the
  // server's message is malformed (bad nonce, salt, iteration count).
  Result<std::string> ClientFinal(std::string_view server_first);
  // Checks the server's signature in server-final-message ("v=..."); kUnauthenticated if it
  // does not prove knowledge of the password (or the server reported "e=...").
  // Sets verified() when it returns ok.
  Status VerifyServerFinal(std::string_view server_final);
  // True once the server's signature verified: only then may AuthenticationOk be believed.
  bool verified() const { return verified_; }

 private:
  std::string password_;
  std::string nonce_;
  std::string gs2_header_;    // "n,," / "y,," / "p=tls-server-end-point,,"
  std::string binding_data_;  // appended to the gs2 header in c= for kEndPoint
  bool verified_ = false;
  std::string client_first_bare_;
  std::string expected_server_signature_;  // base64
};

// Base64 without line breaks; Decode returns false on malformed input.
std::string Base64Encode(std::string_view bytes);
bool Base64Decode(std::string_view text, std::string& out);

// PostgreSQL's md5 password response: "md5" + md5hex(md5hex(password + user) + salt).
std::string Md5PasswordResponse(std::string_view user, std::string_view password,
                                std::string_view salt4);

}  // namespace pgshift::proxy
