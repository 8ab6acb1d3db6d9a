// Matching a request against the routes, and the 404/405/500 answers.
#include "http/http_route_table.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace pgshift {
namespace {

// "/a/b/" -> {"a", "b", ""}: a trailing slash is a different path, as exact paths require.
std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

bool IsParameter(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void HttpRouteTable::Add(const std::string& method, const std::string& pattern,
                         HttpHandler handler) {
  routes_.push_back({method, Segments(pattern), std::move(handler)});
}

bool HttpRouteTable::Match(const Route& route, const std::vector<std::string>& segments,
                           std::map<std::string, std::string>& params) {
  if (route.segments.size() != segments.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (IsParameter(want)) {
      if (segments[i].empty()) return false;
      found[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

HttpResponse HttpRouteTable::Dispatch(HttpRequest request) const {
  try {
    if (guard_) {
      if (std::optional<HttpResponse> refusal = guard_(request)) return *refusal;
    }
    std::vector<std::string> segments = Segments(request.path);
    std::string allowed;
    // HEAD is answered like GET (the server drops the body).
    const std::string method = request.method == "HEAD" ? "GET" : request.method;
    for (const Route& route : routes_) {
      std::map<std::string, std::string> params;
      if (!Match(route, segments, params)) continue;
      if (route.method == method) {
        request.path_params = std::move(params);
        return route.handler(request);
      }
      if (allowed.find(route.method) == std::string::npos) {
        allowed += (allowed.empty() ? "" : ", ") + route.method;
      }
    }
    if (allowed.empty()) return error_(404, "no such endpoint " + request.path);
    HttpResponse r = error_(405, "use " + allowed + " for " + request.path);
    r.headers["allow"] = allowed;
    return r;
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} failed: {}", request.method, request.path, e.what());
  } catch (...) {
    spdlog::error("http: {} {} failed with an unknown exception", request.method, request.path);
  }
  return error_(500, "internal error (logged by the server)");
}

}  // namespace pgshift
