// ServerClient over HttpClient; error answers translated into Status.
#include "server_client/server_client.h"

#include <cctype>
#include <cstdio>

namespace pgshift {
namespace {

Code CodeFromApiName(const std::string& name, int http_status) {
  static const std::map<std::string, Code> kCodes = {
      {"invalid_argument", Code::kInvalidArgument},
      {"unauthenticated", Code::kUnauthenticated},
      {"permission_denied", Code::kPermissionDenied},
      {"not_found", Code::kNotFound},
      {"already_exists", Code::kAlreadyExists},
      {"failed_precondition", Code::kFailedPrecondition},
      {"unavailable", Code::kUnavailable},
      {"internal", Code::kInternal},
  };
  if (auto it = kCodes.find(name); it != kCodes.end()) return it->second;
  switch (http_status) {
    case 400:
    case 413:
    case 431:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kFailedPrecondition;
    case 503:
      return Code::kUnavailable;
    default:
      return Code::kInternal;
  }
}

}  // namespace

Status StatusFromErrorAnswer(int http_status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string code_name;
  std::string message;
  std::string field;
  if (j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_object()) {
      if (e.contains("code") && e["code"].is_string()) code_name = e["code"];
      if (e.contains("message") && e["message"].is_string()) message = e["message"];
      if (e.contains("field") && e["field"].is_string()) field = e["field"];
    } else if (e.is_string()) {
      message = e;
    }
  }
  if (message.empty()) message = "the server answered HTTP " + std::to_string(http_status);
  if (!field.empty()) message += " (field: " + field + ")";
  return Status(CodeFromApiName(code_name, http_status), message);
}

std::string ApiPath(const std::string& prefix, const std::string& name, const std::string& suffix) {
  std::string out = prefix;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out + suffix;
}

Result<ServerClient> ServerClient::Create(const ServerUrl& url, ServerClientOptions options) {
  if (url.tls && options.ca_file.empty()) {
    return InvalidArgument("--server " + url.ToString() +
                           " is HTTPS: give --ca-file with the CA that signed its certificate");
  }
  if (!url.tls && !options.ca_file.empty()) {
    return InvalidArgument("--ca-file is for an https:// server; " + url.ToString() +
                           " is plain HTTP");
  }
  return ServerClient(url, std::move(options));
}

ServerClient::ServerClient(ServerUrl url, ServerClientOptions options)
    : url_(std::move(url)),
      options_(std::move(options)),
      http_(url_.host_port, HttpClientOptions{.tls_ca_file = options_.ca_file}) {}

Result<ApiAnswer> ServerClient::Get(const std::string& path,
                                    const std::map<std::string, std::string>& query) const {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.query = query;
  return Send(std::move(r));
}

Result<ApiAnswer> ServerClient::Post(const std::string& path, const nlohmann::json& body) const {
  HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.body = body.dump();
  return Send(std::move(r));
}

Result<ApiAnswer> ServerClient::Send(HttpRequest request) const {
  if (!options_.token.empty()) request.headers["authorization"] = "Bearer " + options_.token;
  request.headers["accept"] = "application/json";
  const std::string what = request.method + " " + request.path;
  auto answer = http_.Send(request, options_.timeout);
  if (!answer.ok()) {
    return Unavailable("cannot reach the pgshift server at " + url_.ToString() + " (" +
                       answer.status().message() + ")");
  }
  if (answer->status < 200 || answer->status > 299) {
    return StatusFromErrorAnswer(answer->status, answer->body);
  }
  ApiAnswer out{answer->status, nullptr};
  if (!answer->body.empty()) {
    out.body = nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
    if (out.body.is_discarded()) {
      return Unavailable(what + " at " + url_.ToString() + ": the answer is not JSON");
    }
  }
  return out;
}

}  // namespace pgshift
