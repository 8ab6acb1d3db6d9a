// HttpRequest and HttpResponse: what pgshift's HTTP servers and clients exchange, free of the
// library underneath (src/http hides it). JSON is the default body; errors are {"error":...}.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

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

  // "" when absent; `name` in any case.
  std::string Header(const std::string& name) const;
  std::string PathParam(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // besides Content-Type; names in lower case

  static HttpResponse Json(int status, const nlohmann::json& body);
  // {"error": message}. The message is shown to the caller: it must not carry a secret.
  static HttpResponse Error(int status, const std::string& message);
  static HttpResponse Text(int status, std::string body, std::string content_type = "text/plain");
};

}  // namespace pgshift
