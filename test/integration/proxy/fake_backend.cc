// FakeBackend: one thread, one login at a time, blocking sockets with timeouts.
#include "fake_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "proxy/scram_client.h"
#include "proxy/wire_format.h"

namespace pgshift::testing {
namespace {

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

bool ReadExactly(int fd, size_t n, std::string& out) {
  out.clear();
  char buf[4096];
  while (out.size() < n) {
    ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (r <= 0) return false;
    out.append(buf, size_t(r));
  }
  return true;
}

// One typed message from the client: type and body.
bool ReadMessage(int fd, char& type, std::string& body) {
  std::string head;
  if (!ReadExactly(fd, 5, head)) return false;
  type = head[0];
  uint32_t len = proxy::wire::ReadU32(head.data() + 1);
  if (len < 4 || len > (1u << 20)) return false;
  return ReadExactly(fd, len - 4, body);
}

bool SendAll(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
}

std::string Auth(uint32_t kind, std::string_view rest = {}) {
  std::string body;
  proxy::wire::AppendU32(body, kind);
  body += rest;
  return proxy::wire::Message('R', body);
}

}  // namespace

FakeBackend::FakeBackend(Script script) : script_(std::move(script)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::listen(listen_fd_, 16);
  socklen_t len = sizeof(a);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeBackend::~FakeBackend() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  thread_.join();
  ::close(listen_fd_);
}

std::string FakeBackend::Received() const {
  std::lock_guard<std::mutex> l(mu_);
  return received_;
}

bool FakeBackend::WaitForLogins(int n) const {
  std::unique_lock<std::mutex> l(mu_);
  return changed_.wait_for(l, std::chrono::seconds(30), [&] { return logins_ >= n; });
}

void FakeBackend::Serve() {
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;  // checks stop_ between waits
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    HandleOne(fd);
    ::close(fd);
    std::lock_guard<std::mutex> l(mu_);
    ++logins_;
    changed_.notify_all();
  }
}

void FakeBackend::HandleOne(int fd) {
  // Startup packet (after an SSLRequest, refused: the fake speaks plain TCP only).
  std::string head, body;
  for (;;) {
    if (!ReadExactly(fd, 4, head)) return;
    uint32_t len = proxy::wire::ReadU32(head.data());
    if (len < 8 || len > 10000 || !ReadExactly(fd, len - 4, body)) return;
    if (proxy::wire::ReadU32(body.data()) != uint32_t(proxy::wire::kSslRequestCode)) break;
    if (!SendAll(fd, "N")) return;
  }
  auto record = [&](char type, const std::string& b) {
    std::lock_guard<std::mutex> l(mu_);
    received_ += type;
    received_ += b;
  };
  auto fatal = [&] {
    SendAll(fd, proxy::wire::ErrorResponse("FATAL", script_.fatal_sqlstate, script_.fatal_message));
  };
  if (!script_.fatal_sqlstate.empty() && script_.fatal_before_auth) return fatal();
  char type = 0;
  switch (script_.ask) {
    case Ask::kNothing:
      break;
    case Ask::kCleartext:
    case Ask::kMd5: {
      bool md5 = script_.ask == Ask::kMd5;
      if (!SendAll(fd, md5 ? Auth(5, std::string("\x01\x02\x03\x04", 4)) : Auth(3))) return;
      if (!ReadMessage(fd, type, body)) return;
      record(type, body);
      break;
    }
    case Ask::kScram: {
      std::string offer = std::string("SCRAM-SHA-256") + '\0' + '\0';
      if (!SendAll(fd, Auth(10, offer)) || !ReadMessage(fd, type, body)) return;
      record(type, body);
      // "SCRAM-SHA-256\0" int32 length, client-first-message.
      size_t z = body.find('\0');
      if (z == std::string::npos || body.size() < z + 5) return;
      std::string client_first = body.substr(z + 5);
      size_t gs2_end = client_first.find(',', client_first.find(',') + 1);
      std::string bare = client_first.substr(gs2_end + 1);
      std::string client_nonce = bare.substr(bare.find("r=") + 2);
      std::string nonce = (script_.foreign_nonce ? "someone-else" : client_nonce) + "fake-srv";
      std::string salt = "fake-backend-salt";
      std::string server_first = "r=" + nonce + ",s=" + proxy::Base64Encode(salt) +
                                 ",i=" + std::to_string(script_.iterations);
      if (!SendAll(fd, Auth(11, server_first)) || !ReadMessage(fd, type, body)) return;
      record(type, body);
      std::string without_proof = body.substr(0, body.find(",p="));
      unsigned char salted[32];
      PKCS5_PBKDF2_HMAC(script_.password.data(), int(script_.password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), int(salt.size()),
                        script_.iterations, EVP_sha256(), sizeof(salted), salted);
      std::string server_key =
          Hmac(std::string_view(reinterpret_cast<char*>(salted), sizeof(salted)), "Server Key");
      std::string signature = Hmac(server_key, bare + "," + server_first + "," + without_proof);
      if (script_.bad_signature) signature[0] ^= 0x55;
      if (!script_.skip_sasl_final &&
          !SendAll(fd, Auth(12, "v=" + proxy::Base64Encode(signature)))) {
        return;
      }
      break;
    }
  }
  if (!SendAll(fd, proxy::wire::AuthenticationOk())) return;
  if (!script_.fatal_sqlstate.empty()) return fatal();
  if (!SendAll(fd, proxy::wire::ParameterStatus("server_version", "15.0") +
                       proxy::wire::BackendKeyData(1, 2) + proxy::wire::ReadyForQuery('I'))) {
    return;
  }
  // Idle until the client leaves: every query gets an empty answer.
  while (ReadMessage(fd, type, body)) {
    if (type == 'X') return;
    if (type == 'Q') {
      std::string empty = proxy::wire::Message('I', "");
      if (!SendAll(fd, empty + proxy::wire::ReadyForQuery('I'))) return;
    }
  }
}

}  // namespace pgshift::testing
