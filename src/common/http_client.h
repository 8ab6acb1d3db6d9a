// HttpClient: a minimal blocking HTTP/1.1 client for pgshift's own admin APIs on loopback
// (the orchestrator driving proxies). One request per connection; bounded by a timeout.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "common/status.h"

namespace pgshift {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// `address` is "host:port". kUnavailable when the peer cannot be reached or does not answer
// in time; any HTTP status is a successful exchange (callers judge it).
Result<HttpResponse> HttpRequest(const std::string& method, const std::string& address,
                                 const std::string& path, const std::string& body,
                                 const std::map<std::string, std::string>& headers,
                                 std::chrono::milliseconds timeout);

}  // namespace pgshift
