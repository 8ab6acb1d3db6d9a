// HttpClient over cpp-httplib's client.
#include "http/http_client.h"

#include <httplib.h>

#include <charconv>
#include <memory>

namespace pgshift {

Result<HttpResponse> HttpClient::Send(const HttpRequest& request,
                                      std::chrono::milliseconds timeout) const {
  size_t colon = address_.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(address_.data() + colon + 1, address_.data() + address_.size(), port).ec !=
          std::errc() ||
      port < 1 || port > 65535) {
    return InvalidArgument("'" + address_ + "' is not host:port");
  }
  std::string host = address_.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:port
  }
  std::unique_ptr<httplib::ClientImpl> client;
  if (options_.tls_ca_file.empty()) {
    client = std::make_unique<httplib::ClientImpl>(host, port);
  } else {
    auto tls = std::make_unique<httplib::SSLClient>(host, port);
    tls->set_ca_cert_path(options_.tls_ca_file.c_str());
    tls->enable_server_certificate_verification(true);
    client = std::move(tls);
  }
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  client->set_keep_alive(false);

  httplib::Request req;
  req.method = request.method;
  httplib::Params params(request.query.begin(), request.query.end());
  req.path = params.empty() ? request.path : httplib::append_query_params(request.path, params);
  for (const auto& [name, value] : request.headers) req.set_header(name, value);
  if (!req.has_header("Content-Type")) req.set_header("Content-Type", "application/json");
  req.body = request.body;

  httplib::Result result = client->send(req);
  if (!result) {
    return Unavailable(request.method + " " + request.path + " to " + address_ + ": " +
                       httplib::to_string(result.error()));
  }
  HttpResponse r;
  r.status = result->status;
  r.body = result->body;
  r.content_type = result->get_header_value("Content-Type");
  for (const auto& [name, value] : result->headers) r.headers.emplace(HttpHeaderKey(name), value);
  return r;
}

}  // namespace pgshift
