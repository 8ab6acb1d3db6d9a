// API tokens: `pgs_` + 43 base64url characters (32 random bytes), shown once when created;
// the store keeps only the SHA-256 (hex) of the text. A presented token is hashed and looked
// up; the stored hash is compared in constant time before it is believed.
#pragma once

#include <string>

#include "common/status.h"

namespace pgshift::server {

// A new token's text from the system's CSPRNG. kInternal when no randomness is available.
Result<std::string> GenerateApiToken();
// Whether `text` has the token form (so that a malformed header is not even hashed).
bool LooksLikeApiToken(const std::string& text);
// Lower-case hex SHA-256 of `text`.
std::string Sha256Hex(const std::string& text);
// Equal contents, in time independent of where they differ (lengths may leak).
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace pgshift::server
