// OpenSSL context setup and client certificate identity extraction.
#include "proxy/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace pgshift::proxy {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// Accept any chain during the handshake; the verdict is read afterwards.
int AcceptForLater(int, X509_STORE_CTX*) { return 1; }

}  // namespace

Result<SslCtxPtr> MakeServerTlsContext(const std::string& cert, const std::string& key,
                                       const std::string& client_ca) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) return Internal("TLS: cannot create context: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    return InvalidArgument("TLS: cannot load tls_cert " + cert + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgument("TLS: cannot load tls_key " + key + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return InvalidArgument("TLS: tls_key does not match tls_cert");
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), client_ca.c_str(), nullptr) != 1) {
    return InvalidArgument("TLS: cannot load client_ca " + client_ca + ": " + OpenSslError());
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca.c_str());
  if (names) SSL_CTX_set_client_CA_list(ctx.get(), names);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptForLater);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

Result<SslCtxPtr> MakeBackendTlsContext() {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (!ctx) return Internal("TLS: cannot create backend context: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

Result<std::string> VerifiedClientIdentity(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) {
    return Unauthenticated("a client certificate is required (connect with sslcert/sslkey)");
  }
  std::unique_ptr<X509, decltype(&X509_free)> hold(cert, &X509_free);
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) {
    return Unauthenticated(std::string("the client certificate is not trusted: ") +
                           X509_verify_cert_error_string(v));
  }
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::string uri;
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans) && uri.empty(); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type == GEN_URI) {
        const ASN1_IA5STRING* s = n->d.uniformResourceIdentifier;
        uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (!uri.empty()) return uri;
  char cn[256];
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  if (n <= 0) return Unauthenticated("the client certificate has neither a URI SAN nor a CN");
  return std::string(cn, size_t(n));
}

}  // namespace pgshift::proxy
