// ServerClient: calls a pgshift server's JSON API (/v1) for the command line, the benchmarks
// and the tests. One blocking request per call over src/http's HttpClient (HTTPS verified
// against a CA file). A bearer token is sent when one was given.
//
// Answers are judged here, once: a 2xx gives its JSON body; an error answer becomes a Status
// whose code is the API's error code (invalid_argument, not_found, ...) and whose message is
// the server's, followed by " (field: x)" when the server named a field. A server that cannot
// be reached, or that answers something other than JSON, is kUnavailable naming the request.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "http/http_client.h"
#include "server_client/server_url.h"

namespace pgshift {

struct ServerClientOptions {
  std::string token;    // "" sends no Authorization header
  std::string ca_file;  // PEM; required for an https:// server
  std::chrono::milliseconds timeout{10000};
};

// A successful answer: its status (200, 201, 202) and its JSON body (null when empty).
struct ApiAnswer {
  int status = 200;
  nlohmann::json body;
};

class ServerClient {
 public:
  // kInvalidArgument for an https:// server without a CA file.
  static Result<ServerClient> Create(const ServerUrl& url, ServerClientOptions options);

  Result<ApiAnswer> Get(const std::string& path,
                        const std::map<std::string, std::string>& query = {}) const;
  Result<ApiAnswer> Post(const std::string& path,
                         const nlohmann::json& body = nlohmann::json::object()) const;

  const ServerUrl& url() const { return url_; }

 private:
  ServerClient(ServerUrl url, ServerClientOptions options);
  Result<ApiAnswer> Send(HttpRequest request) const;

  ServerUrl url_;
  ServerClientOptions options_;
  HttpClient http_;
};

// The Status an error answer stands for (exposed for tests): the code from
// {"error":{"code":...}} (from the HTTP status when the body has none), the message with
// " (field: x)" appended when a field is named.
Status StatusFromErrorAnswer(int http_status, const std::string& body);

// "/v1/migrations/" + name, with the name percent-encoded as a path segment.
std::string ApiPath(const std::string& prefix, const std::string& name,
                    const std::string& suffix = "");

}  // namespace pgshift
