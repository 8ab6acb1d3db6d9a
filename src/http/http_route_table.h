// HttpRouteTable: {method, path pattern} -> handler, the one dispatch of an HTTP API (like
// PgBouncer's admin.c dispatching from its command list). A pattern is an exact path whose
// segments may be "{name}", matching one non-empty segment (HttpRequest::path_params). A path
// no route has is 404; a path routed under other methods is 405 with "Allow". A handler that
// throws answers 500 with a JSON error, and the exception is logged, never shown (it may
// carry anything). Dispatch needs no socket, so an API can be tested without one.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/http_message.h"

namespace pgshift {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Runs before routing on every request; an answer ends the request (an authorization check).
using HttpGuard = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

class HttpRouteTable {
 public:
  void Add(const std::string& method, const std::string& pattern, HttpHandler handler);
  void SetGuard(HttpGuard guard) { guard_ = std::move(guard); }
  // The body of the table's own 404/405/500 (default: HttpResponse::Error).
  void SetErrorResponder(HttpErrorResponder responder) { error_ = std::move(responder); }
  // Thread-safe once built: the table is read-only while serving.
  HttpResponse Dispatch(HttpRequest request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" or a literal
    HttpHandler handler;
  };
  static bool Match(const Route& route, const std::vector<std::string>& segments,
                    std::map<std::string, std::string>& params);
  std::vector<Route> routes_;
  HttpGuard guard_;
  HttpErrorResponder error_ = HttpResponse::Error;
};

}  // namespace pgshift
