// HttpClient: blocking HTTP/1.1 requests (HTTPS with a CA file) to one "host:port", as the
// orchestrator drives proxies. One connection per request. Every phase (connect, send, each
// read) is bounded by the timeout given. kUnavailable when the peer cannot be reached or does
// not answer in time; any HTTP status is a successful exchange (callers judge it).
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "http/http_message.h"

namespace pgshift {

struct HttpClientOptions {
  // Non-empty: HTTPS, the server's certificate verified against this PEM file.
  std::string tls_ca_file;
};

class HttpClient {
 public:
  explicit HttpClient(std::string address, HttpClientOptions options = {})
      : address_(std::move(address)), options_(std::move(options)) {}

  // Sends request.method, path, query, headers and body (Content-Type application/json
  // unless a "content-type" header says otherwise). kInvalidArgument when the address is not
  // host:port.
  Result<HttpResponse> Send(const HttpRequest& request, std::chrono::milliseconds timeout) const;

 private:
  std::string address_;
  HttpClientOptions options_;
};

}  // namespace pgshift
