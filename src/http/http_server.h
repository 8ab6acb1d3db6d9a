// HttpServer: an HTTP/1.1 server (HTTPS when given a certificate and key) answering from an
// HttpRouteTable, for every API pgshift serves (the proxy's admin API; the control plane).
// Each connection is served on a worker thread of its own, so a request that blocks (a pause
// waits up to its deadline) never delays another. Limits (HttpServerOptions): connections
// served at once (one more is answered 503), the request body (413), the request headers
// (431; the library also caps each header line and the request line at 8 KiB: 400/414), and
// read and write timeouts. Nothing a request or handler does can end the process: a handler
// that throws answers 500. Stop() waits for the requests in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "http/http_route_table.h"

namespace httplib {
class Server;
}

namespace pgshift {

struct HttpServerOptions {
  std::string name = "http";  // in log lines and errors
  int max_connections = 16;
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 32 << 10;  // all header names and values together
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  // A keep-alive connection holds a worker while idle, so it is short and bounded.
  std::chrono::seconds keep_alive_timeout{2};
  int keep_alive_max_requests = 100;
  // Both set: HTTPS. PEM files.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With TLS: client certificates are requested and verified against this PEM file (a
  // client without one may still connect); the verified certificate's common name is
  // HttpRequest::peer_common_name.
  std::string tls_client_ca_file;
  // The body of the server's own refusals (413, 431, 503, 500); default HttpResponse::Error.
  HttpErrorResponder error_responder = HttpResponse::Error;
};

class HttpServer {
 public:
  HttpServer(HttpRouteTable routes, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: a free port, see port()) and serves until Stop(). kUnavailable
  // when it cannot listen; kInvalidArgument when the TLS files cannot be loaded.
  Status Start(const std::string& host, int port);
  int port() const { return port_; }
  void Stop();

 private:
  HttpRouteTable routes_;
  HttpServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::atomic<bool> listener_done_{false};
  int port_ = 0;
};

}  // namespace pgshift
