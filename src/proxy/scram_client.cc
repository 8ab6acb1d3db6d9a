// SCRAM-SHA-256 and md5 password responses computed with OpenSSL.
#include "proxy/scram_client.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <map>
#include <mutex>

namespace pgshift::proxy {
namespace {

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

// The value of attribute `name` ("r", "s", "i", "v", "e") in a comma-separated SCRAM message.
bool Attribute(std::string_view msg, char name, std::string_view& value) {
  size_t i = 0;
  while (i < msg.size()) {
    size_t end = msg.find(',', i);
    if (end == std::string_view::npos) end = msg.size();
    std::string_view part = msg.substr(i, end - i);
    if (part.size() >= 2 && part[0] == name && part[1] == '=') {
      value = part.substr(2);
      return true;
    }
    i = end + 1;
  }
  return false;
}

// PBKDF2 with the server's iteration count (4096 by default) is the costliest step of a
// login, and at a switch every held session logs in to the new primary at once while traffic
// waits. A server's verifier keeps its salt and count, so the derived key is cached per
// (password, salt, iterations); it is as secret as the password and lives only in memory.
std::string SaltedPassword(const std::string& password, const std::string& salt, int iterations) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  // Sized fields: a salt's bytes must not run into the count (salt "a1" + 23 vs "a" + 123).
  std::string key = Sha256(password) + std::to_string(salt.size()) + ':' + salt + ':' +
                    std::to_string(iterations);
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  unsigned char salted[32];
  PKCS5_PBKDF2_HMAC(password.data(), int(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), int(salt.size()),
                    iterations, EVP_sha256(), sizeof(salted), salted);
  std::string out(reinterpret_cast<char*>(salted), sizeof(salted));
  std::lock_guard<std::mutex> l(mu);
  if (cache.size() > 1024) cache.clear();  // bounded: a few backends' verifiers in practice
  cache[key] = out;
  return out;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

std::string Md5Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return Hex(out, len);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(n);
  return out;
}

bool Base64Decode(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.assign(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
  if (n < 0) return false;
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(size_t(n) - pad);
  return true;
}

std::string Md5PasswordResponse(std::string_view user, std::string_view password,
                                std::string_view salt4) {
  std::string inner = Md5Hex(std::string(password) + std::string(user));
  return "md5" + Md5Hex(inner + std::string(salt4));
}

ScramClient::ScramClient(std::string password, std::string nonce, std::string user,
                         ScramBinding binding, std::string binding_data)
    : password_(std::move(password)), nonce_(std::move(nonce)) {
  switch (binding) {
    case ScramBinding::kNone:
      gs2_header_ = "n,,";
      break;
    case ScramBinding::kNotOffered:
      gs2_header_ = "y,,";
      break;
    case ScramBinding::kEndPoint:
      gs2_header_ = "p=tls-server-end-point,,";
      binding_data_ = std::move(binding_data);
      break;
  }
  if (nonce_.empty()) {
    unsigned char raw[18];
    RAND_bytes(raw, sizeof(raw));
    nonce_ = Base64Encode(std::string_view(reinterpret_cast<char*>(raw), sizeof(raw)));
  }
  client_first_bare_ = "n=" + user + ",r=" + nonce_;
}

std::string ScramClient::Mechanism() const {
  return gs2_header_[0] == 'p' ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";
}

std::string ScramClient::ClientFirst() const { return gs2_header_ + client_first_bare_; }

Result<std::string> ScramClient::ClientFinal(std::string_view server_first) {
  std::string_view r, s, i;
  if (!Attribute(server_first, 'r', r) || !Attribute(server_first, 's', s) ||
      !Attribute(server_first, 'i', i)) {
    return Unauthenticated("SCRAM: malformed server-first-message");
  }
  if (r.size() <= nonce_.size() || r.substr(0, nonce_.size()) != nonce_) {
    return Unauthenticated("SCRAM: the server's nonce does not extend the client's");
  }
  std::string salt;
  if (!Base64Decode(s, salt) || salt.empty()) return Unauthenticated("SCRAM: malformed salt");
  int iterations = 0;
  auto [p, ec] = std::from_chars(i.data(), i.data() + i.size(), iterations);
  if (ec != std::errc() || p != i.data() + i.size() || iterations < 1 || iterations > 10000000) {
    return Unauthenticated("SCRAM: invalid iteration count");
  }
  if (iterations < kMinScramIterations) {
    return Unauthenticated("SCRAM: the server's iteration count " + std::to_string(iterations) +
                           " is below " + std::to_string(kMinScramIterations) +
                           " (a verifier that cheap is refused)");
  }
  const std::string salted = SaltedPassword(password_, salt, iterations);
  std::string_view salted_view(salted);
  std::string client_key = Hmac(salted_view, "Client Key");
  std::string stored_key = Sha256(client_key);
  std::string final_without_proof =
      "c=" + Base64Encode(gs2_header_ + binding_data_) + ",r=" + std::string(r);
  std::string auth_message =
      client_first_bare_ + "," + std::string(server_first) + "," + final_without_proof;
  std::string signature = Hmac(stored_key, auth_message);
  std::string proof = client_key;
  for (size_t k = 0; k < proof.size(); ++k) proof[k] ^= signature[k];
  std::string server_key = Hmac(salted_view, "Server Key");
  expected_server_signature_ = Base64Encode(Hmac(server_key, auth_message));
  return final_without_proof + ",p=" + Base64Encode(proof);
}

Status ScramClient::VerifyServerFinal(std::string_view server_final) {
  std::string_view v;
  if (Attribute(server_final, 'e', v)) {
    return Unauthenticated("SCRAM: the server reported " + std::string(v));
  }
  if (expected_server_signature_.empty()) {  // before ClientFinal: "v=" must not match
    return Unauthenticated("SCRAM: server-final-message before server-first-message");
  }
  if (!Attribute(server_final, 'v', v) || v != expected_server_signature_) {
    return Unauthenticated("SCRAM: the server's signature does not verify");
  }
  verified_ = true;
  return Status::Ok();
}

}  // namespace pgshift::proxy
