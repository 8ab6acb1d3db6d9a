// TLS contexts: the client-facing server context (our certificate, the CA that client
// certificates must chain to) and the backend-facing client context; plus how a verified
// client certificate becomes an identity.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace pgshift::proxy {

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// Server context requesting (not demanding) a client certificate: the handshake completes
// without one so that the refusal can be a PostgreSQL ErrorResponse the client can read.
Result<SslCtxPtr> MakeServerTlsContext(const std::string& cert, const std::string& key,
                                       const std::string& client_ca);
// Client context for backend connections (encryption; the backend's certificate is not
// verified, like sslmode=require).
Result<SslCtxPtr> MakeBackendTlsContext();

// The identity of the peer of an established TLS session: ok with the URI SAN if present,
// else the subject CN. kUnauthenticated with a reason when there is no certificate or it
// did not verify against the CA.
Result<std::string> VerifiedClientIdentity(SSL* ssl);

}  // namespace pgshift::proxy
