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

// Client context for backends of a cluster with tls = verify-full: the server's certificate
// must chain to `ca_file` (SSL_VERIFY_PEER fails the handshake otherwise). One per CA file for
// the process's life (the file is read once). kInvalidArgument naming the file if unreadable.
Result<SSL_CTX*> VerifyingBackendTlsContext(const std::string& ca_file);
// Makes `ssl`'s handshake also require that the certificate names `host` (a DNS name or an IP
// address, like libpq's verify-full), and sends it as SNI when it is a name.
Status ExpectServerName(SSL* ssl, const std::string& host);

// The tls-server-end-point channel binding data of an established session (RFC 5929 4.1):
// the hash of the server's certificate with its signature's hash, SHA-256 when that is MD5 or
// SHA-1. kUnavailable when there is no certificate or its hash is unknown.
Result<std::string> ServerEndPointHash(SSL* ssl);

// The identity of the peer of an established TLS session: ok with the URI SAN if present,
// else the subject CN. kUnauthenticated with a reason when there is no certificate or it
// did not verify against the CA.
Result<std::string> VerifiedClientIdentity(SSL* ssl);

}  // namespace pgshift::proxy
