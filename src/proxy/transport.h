// Transport: one non-blocking socket of a session, plain or TLS, with the same read/write
// calls either way. Owns the fd and the SSL object.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <string>

namespace pgshift::proxy {

class Transport {
 public:
  Transport() = default;
  explicit Transport(int fd, SSL* ssl = nullptr) : fd_(fd), ssl_(ssl) {}
  Transport(Transport&& o) noexcept { *this = std::move(o); }
  Transport& operator=(Transport&& o) noexcept;
  ~Transport() { Close(); }

  // > 0 bytes moved; kWouldBlock; kClosed (peer closed or failed).
  static constexpr ssize_t kWouldBlock = 0;
  static constexpr ssize_t kClosed = -1;
  ssize_t Read(char* buf, size_t len);
  ssize_t Write(const char* buf, size_t len);

  // Server side TLS: wraps the socket in `ctx`, then Handshake() until it returns 1 (done),
  // 0 (in progress, wait for the socket), -1 (failed).
  void StartServerTls(SSL_CTX* ctx);
  int Handshake();
  // Attaches an already-established TLS session (from a blocking connect).
  void AdoptTls(SSL* ssl) { ssl_ = ssl; }

  // Lingering close: sends close_notify (TLS) and FIN but keeps the socket readable, so a
  // client that writes before reading our last error still gets to read it (closing with
  // unread input would answer its write with a reset and lose the error).
  void ShutdownWrite();
  // Reads and drops raw input: > 0 bytes dropped, kWouldBlock, kClosed.
  ssize_t DiscardInput();

  bool tls() const { return ssl_ != nullptr; }
  SSL* ssl() const { return ssl_; }
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Close();

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

}  // namespace pgshift::proxy
