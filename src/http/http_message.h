// HttpRequest and HttpResponse: what pgshift's HTTP servers and clients exchange, free of the
// library underneath (src/http hides it). JSON is the default body; errors are {"error":...}.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pgshift {

// Header names are case-insensitive; pgshift keeps them in lower case.
std::string HttpHeaderKey(std::string name);

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // without the query string
  std::map<std::string, std::string> query;    // decoded; the first of a repeated name
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::map<std::string, std::string> path_params;  // the "{name}" segments of the route matched
  // HTTPS with a client CA (HttpServerOptions::tls_client_ca_file): the common name of the
  // client certificate the server verified; "" without one.
  std::string peer_common_name;

  // "" when absent; `name` in any case.
  std::string Header(const std::string& name) const;
  std::string PathParam(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // besides Content-Type; names in lower case
  // A streamed answer (server-sent events): when set, the body is ignored and the server
  // sends chunks as `stream` writes them, until it returns or `write` returns false (the
  // client went away). Runs on the connection's worker thread.
  using StreamWriter = std::function<bool(std::string_view chunk)>;
  std::function<void(const StreamWriter& write)> stream;

  static HttpResponse Json(int status, const nlohmann::json& body);
  // {"error": message}. The message is shown to the caller: it must not carry a secret.
  static HttpResponse Error(int status, const std::string& message);
  static HttpResponse Text(int status, std::string body, std::string content_type = "text/plain");
};

// Builds an error answer from a status and a message: an API with its own error body
// (the control plane's {"error":{"code",...}}) gives one to the route table and the server,
// so that their own refusals (404, 405, 413, 503, 500) carry the same body as its handlers'.
using HttpErrorResponder = std::function<HttpResponse(int status, const std::string& message)>;

}  // namespace pgshift
