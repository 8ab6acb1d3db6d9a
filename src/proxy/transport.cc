// Non-blocking reads and writes over plain sockets or OpenSSL.
#include "proxy/transport.h"

#include <errno.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pgshift::proxy {

Transport& Transport::operator=(Transport&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.fd_;
    ssl_ = o.ssl_;
    o.fd_ = -1;
    o.ssl_ = nullptr;
  }
  return *this;
}

void Transport::Close() {
  if (ssl_) {
    // close_notify lets the peer read what was sent last (a FATAL error) before the EOF,
    // as PostgreSQL itself does; one non-blocking attempt, never waiting for the answer.
    if (SSL_is_init_finished(ssl_)) {
      SSL_set_quiet_shutdown(ssl_, 0);
      SSL_shutdown(ssl_);
      ERR_clear_error();
    }
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

ssize_t Transport::Read(char* buf, size_t len) {
  if (ssl_) {
    int n = SSL_read(ssl_, buf, int(len));
    if (n > 0) return n;
    int err = SSL_get_error(ssl_, n);
    ERR_clear_error();
    return (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) ? kWouldBlock : kClosed;
  }
  for (;;) {
    ssize_t n = ::recv(fd_, buf, len, 0);
    if (n > 0) return n;
    if (n == 0) return kClosed;
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? kWouldBlock : kClosed;
  }
}

ssize_t Transport::Write(const char* buf, size_t len) {
  if (ssl_) {
    int n = SSL_write(ssl_, buf, int(len));
    if (n > 0) return n;
    int err = SSL_get_error(ssl_, n);
    ERR_clear_error();
    return (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) ? kWouldBlock : kClosed;
  }
  for (;;) {
    ssize_t n = ::send(fd_, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? kWouldBlock : kClosed;
  }
}

void Transport::ShutdownWrite() {
  if (ssl_ && SSL_is_init_finished(ssl_)) {
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

ssize_t Transport::DiscardInput() {
  char scratch[4096];
  for (;;) {
    ssize_t n = ::recv(fd_, scratch, sizeof(scratch), 0);
    if (n > 0) return n;
    if (n == 0) return kClosed;
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? kWouldBlock : kClosed;
  }
}

void Transport::StartServerTls(SSL_CTX* ctx) {
  ssl_ = SSL_new(ctx);
  SSL_set_fd(ssl_, fd_);
  SSL_set_accept_state(ssl_);
  // Partial writes and moving buffers: the session's buffer compacts between retries.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

int Transport::Handshake() {
  int r = SSL_do_handshake(ssl_);
  if (r == 1) return 1;
  int err = SSL_get_error(ssl_, r);
  ERR_clear_error();
  return (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) ? 0 : -1;
}

}  // namespace pgshift::proxy
