// OpenSSL context setup and client certificate identity extraction.
#include "proxy/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <map>
#include <mutex>

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

Result<SSL_CTX*> VerifyingBackendTlsContext(const std::string& ca_file) {
  static std::mutex mu;
  static std::map<std::string, SslCtxPtr>* by_file = new std::map<std::string, SslCtxPtr>();
  std::lock_guard<std::mutex> l(mu);
  auto it = by_file->find(ca_file);
  if (it != by_file->end()) return it->second.get();
  ASSIGN_OR_RETURN(SslCtxPtr ctx, MakeBackendTlsContext());
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    return InvalidArgument("TLS: cannot load tls_ca_file " + ca_file + ": " + OpenSslError());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX* raw = ctx.get();
  by_file->emplace(ca_file, std::move(ctx));
  return raw;
}

Status ExpectServerName(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  unsigned char ip[16];
  bool is_ip =
      inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1;
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      return InvalidArgument("TLS: cannot expect server address " + host);
    }
    return Status::Ok();
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1) {
    return InvalidArgument("TLS: cannot expect server name " + host);
  }
  SSL_set_tlsext_host_name(ssl, host.c_str());
  return Status::Ok();
}

Result<std::string> ServerEndPointHash(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return Unavailable("TLS: the server sent no certificate");
  std::unique_ptr<X509, decltype(&X509_free)> hold(cert, &X509_free);
  int md_nid = NID_undef;
  if (OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, nullptr) != 1) {
    return Unavailable("TLS: unknown signature algorithm of the server's certificate");
  }
  if (md_nid == NID_md5 || md_nid == NID_sha1) md_nid = NID_sha256;  // RFC 5929 4.1
  const EVP_MD* md = EVP_get_digestbynid(md_nid);
  if (!md) return Unavailable("TLS: no hash for the server certificate's signature");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, out, &len) != 1) return Unavailable("TLS: cannot hash certificate");
  return std::string(reinterpret_cast<char*>(out), len);
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
