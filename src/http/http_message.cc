// Construction and lookup helpers of the HTTP message types.
#include "http/http_message.h"

#include <algorithm>
#include <cctype>

namespace pgshift {
namespace {

std::string Lookup(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

}  // namespace

std::string HttpHeaderKey(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return name;
}

std::string HttpRequest::Header(const std::string& name) const {
  return Lookup(headers, HttpHeaderKey(name));
}

std::string HttpRequest::PathParam(const std::string& name) const {
  return Lookup(path_params, name);
}

HttpResponse HttpResponse::Json(int status, const nlohmann::json& body) {
  // Replacing invalid UTF-8 keeps a stray byte in a message from turning the answer into an
  // exception.
  return {status,
          "application/json",
          body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
          {}};
}

HttpResponse HttpResponse::Error(int status, const std::string& message) {
  return Json(status, {{"error", message}});
}

HttpResponse HttpResponse::Text(int status, std::string body, std::string content_type) {
  return {status, std::move(content_type), std::move(body), {}};
}

}  // namespace pgshift
