// ScramClient: the client side of SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL speaks it,
// without channel binding ("n,,"). The proxy uses it to log in to backends with the password
// it holds. Passwords are used as given (no SASLprep): ASCII passwords only.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace pgshift::proxy {

class ScramClient {
 public:
  // `nonce` empty -> a random one (tests pass a fixed nonce to check RFC vectors).
  // PostgreSQL ignores the SCRAM user name (it uses the startup packet's): leave it empty.
  ScramClient(std::string password, std::string nonce = "", std::string user = "");

  // client-first-message, e.g. "n,,n=,r=<nonce>".
  std::string ClientFirst() const;
  // Consumes server-first-message; returns client-final-message. kUnauthenticated when the
  // server's message is malformed (bad nonce, salt, iteration count).
  Result<std::string> ClientFinal(std::string_view server_first);
  // Checks the server's signature in server-final-message ("v=..."); kUnauthenticated if it
  // does not prove knowledge of the password (or the server reported "e=...").
  Status VerifyServerFinal(std::string_view server_final) const;

 private:
  std::string password_;
  std::string nonce_;
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
