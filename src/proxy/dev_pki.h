// DevPki: a throw-away certificate authority for development, tests and the demo: a CA, a
// server certificate for 127.0.0.1/localhost, and client certificates with a given CN (and
// optionally a URI SAN), made with the `openssl` command in a directory. Not for production:
// keys are unencrypted and short-lived (30 days).
#pragma once

#include <string>

#include "common/status.h"

namespace pgshift::proxy {

struct ClientCert {
  std::string cert, key;  // file paths (key mode 0600, as libpq demands)
};

class DevPki {
 public:
  // Creates dir (if needed) and the CA and server certificate in it.
  static Result<DevPki> Create(const std::string& dir);

  // A client certificate signed by this CA.
  Result<ClientCert> Client(const std::string& cn, const std::string& uri_san = "") const;
  // A client certificate signed by another CA that the proxy does not trust.
  Result<ClientCert> UntrustedClient(const std::string& cn) const;

  std::string dir, ca_cert, ca_key, server_cert, server_key;

 private:
  Result<ClientCert> Issue(const std::string& name, const std::string& cn, const std::string& san,
                           const std::string& ca_cert, const std::string& ca_key) const;
};

}  // namespace pgshift::proxy
