// FakeBackend: a misbehaving PostgreSQL server for the proxy's backend-login tests. A thread
// with a listening socket on 127.0.0.1 speaks just enough of the protocol to answer one
// login at a time the way its Script says: SCRAM that skips SASLFinal, signs wrongly, offers
// a cheap iteration count or a nonce of its own; a request for cleartext or md5; a FATAL
// before or after AuthenticationOk. It records what the client sent, so a test can check
// that no password reached a server that should not have had it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace pgshift::testing {

class FakeBackend {
 public:
  enum class Ask { kScram, kCleartext, kMd5, kNothing };
  struct Script {
    Ask ask = Ask::kScram;
    std::string password;  // what a genuine SCRAM server would hold: its signature uses it
    bool skip_sasl_final = false;
    bool bad_signature = false;
    int iterations = 4096;
    bool foreign_nonce = false;  // a server nonce that does not start with the client's
    // When set: an ErrorResponse FATAL with this SQLSTATE, then the connection is closed;
    // before asking for authentication if fatal_before_auth, else after AuthenticationOk.
    std::string fatal_sqlstate;
    std::string fatal_message = "fake failure";
    bool fatal_before_auth = false;
  };

  explicit FakeBackend(Script script);
  ~FakeBackend();  // stops the thread and closes the socket
  int port() const { return port_; }

  // Everything the clients sent after their startup packets, concatenated (password
  // messages included): tests search it for the secret.
  std::string Received() const;
  // Waits (up to a generous deadline) until `n` logins were handled; false on timeout.
  bool WaitForLogins(int n) const;

 private:
  void Serve();
  void HandleOne(int fd);

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::string received_;
  int logins_ = 0;
  bool stop_ = false;
};

}  // namespace pgshift::testing
