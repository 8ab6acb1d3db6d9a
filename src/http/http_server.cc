// HttpServer over cpp-httplib: every request, whatever its method and path, goes to the route
// table through one catch-all handler, so routing, errors and limits are pgshift's own.
#include "http/http_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

namespace pgshift {
namespace {

// Set while the accepting thread itself runs a connection that came over the limit: the
// pre-routing handler answers it 503.
thread_local bool over_connection_limit = false;

// httplib's task queue, bounded: `limit` workers serve one connection each. A connection past
// the limit is answered 503 on the accepting thread, so an overload slows accepting down
// instead of growing a queue behind requests that may block for seconds.
class ConnectionPool : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(int limit) : limit_(size_t(limit)) {
    for (int i = 0; i < limit; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ConnectionPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (busy_ + queue_.size() < limit_) {
        queue_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    over_connection_limit = true;
    fn();
    over_connection_limit = false;
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything queued was served
        fn = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      fn();
      std::lock_guard<std::mutex> l(mu_);
      --busy_;
    }
  }

  const size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

void Answer(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [name, value] : from.headers) to.set_header(name, value);
  if (from.stream) {
    auto stream = from.stream;
    to.set_chunked_content_provider(from.content_type, [stream](size_t, httplib::DataSink& sink) {
      // The stream runs after routing, outside the route table's catch: nothing it throws may
      // leave here (it would end the process); the stream just ends.
      try {
        stream([&sink](std::string_view chunk) {
          return sink.is_writable() && sink.write(chunk.data(), chunk.size());
        });
      } catch (const std::exception& e) {
        spdlog::error("http: a streamed answer failed: {}", e.what());
      } catch (...) {
        spdlog::error("http: a streamed answer failed with an unknown exception");
      }
      sink.done();
      return true;
    });
    return;
  }
  to.set_content(from.body, from.content_type.c_str());
}

// The common name of the client certificate the TLS layer verified, or "".
std::string PeerCommonName(const httplib::Request& req) {
  if (!req.ssl) return "";
  SSL* ssl = const_cast<SSL*>(req.ssl);
  if (SSL_get_verify_result(ssl) != X509_V_OK) return "";
  X509* cert = SSL_get_peer_certificate(ssl);
  if (!cert) return "";
  char cn[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  X509_free(cert);
  return n > 0 ? std::string(cn, size_t(n)) : "";
}

// The reason of the library's own refusals, which come without a body.
std::string Refusal(int status, const HttpServerOptions& options) {
  switch (status) {
    case 413:
      return "request body larger than " + std::to_string(options.max_body_bytes) + " bytes";
    case 414:
      return "request line too long";
    case 400:
      return "malformed HTTP request";
    default:
      return "request refused";
  }
}

}  // namespace

HttpServer::HttpServer(HttpRouteTable routes, HttpServerOptions options)
    : routes_(std::move(routes)), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& host, int port) {
  if (server_) return FailedPrecondition(options_.name + " server already started");
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    const HttpServerOptions& o = options_;
    server_ = std::make_unique<httplib::SSLServer>([&o](SSL_CTX& ctx) {
      SSL_CTX_set_options(&ctx, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION);
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      if (SSL_CTX_use_certificate_chain_file(&ctx, o.tls_cert_file.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(&ctx, o.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(&ctx) != 1) {
        return false;
      }
      if (!o.tls_client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(&ctx, o.tls_client_ca_file.c_str(), nullptr) != 1) {
          return false;
        }
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_client_ca_file.c_str());
        if (names) SSL_CTX_set_client_CA_list(&ctx, names);
        // Requested, verified when given, not required: token callers come without one.
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
      }
      return true;
    });
    if (!server_->is_valid()) {
      server_.reset();
      return InvalidArgument(options_.name + ": cannot load the TLS certificate " +
                             options_.tls_cert_file + ", its key " + options_.tls_key_file +
                             (options_.tls_client_ca_file.empty()
                                  ? std::string()
                                  : " or the client CA " + options_.tls_client_ca_file));
    }
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *server_;
  const int limit = std::max(1, options_.max_connections);
  s.new_task_queue = [limit] { return new ConnectionPool(limit); };
  // SO_REUSEADDR only: the library's default adds SO_REUSEPORT, with which a second server
  // would share a port in use instead of failing to bind it.
  s.set_socket_options([](socket_t sock) {
    int one = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  });
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_read_timeout(options_.read_timeout);
  s.set_write_timeout(options_.write_timeout);
  s.set_keep_alive_timeout(options_.keep_alive_timeout.count());
  s.set_keep_alive_max_count(size_t(std::max(1, options_.keep_alive_max_requests)));

  const HttpServerOptions& opts = options_;
  s.set_pre_routing_handler([&opts](const httplib::Request& req, httplib::Response& res) {
    if (over_connection_limit) {
      Answer(opts.error_responder(
                 503, "too many connections (limit " + std::to_string(opts.max_connections) + ")"),
             res);
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    size_t header_bytes = 0;
    for (const auto& [name, value] : req.headers) header_bytes += name.size() + value.size() + 4;
    if (header_bytes > opts.max_header_bytes) {
      Answer(opts.error_responder(431, "request headers larger than " +
                                           std::to_string(opts.max_header_bytes) + " bytes"),
             res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto serve = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest request;
    request.method = req.method;
    request.path = req.path;
    for (const auto& [name, value] : req.params) request.query.emplace(name, value);
    for (const auto& [name, value] : req.headers)
      request.headers.emplace(HttpHeaderKey(name), value);
    request.body = req.body;
    request.peer_common_name = PeerCommonName(req);
    Answer(routes_.Dispatch(std::move(request)), res);
  };
  const httplib::Server::Handler handler = serve;
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Patch(".*", handler);
  s.Delete(".*", handler);
  s.Options(".*", handler);
  // Refusals the library makes itself (malformed request, body too large) come without a
  // body: they get the JSON error every answer of ours has.
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [&opts](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        Answer(opts.error_responder(res.status, Refusal(res.status, opts)), res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [&opts](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        spdlog::error("{}: {} {} failed inside the HTTP library", opts.name, req.method, req.path);
        Answer(opts.error_responder(500, "internal error (logged by the server)"), res);
      });

  int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    int err = errno;
    server_.reset();
    return Unavailable(options_.name + " cannot listen on " + host + ":" + std::to_string(port) +
                       ": " + std::strerror(err));
  }
  port_ = bound;
  listener_done_ = false;
  listener_ = std::thread([this] {
    server_->listen_after_bind();
    listener_done_ = true;
  });
  // stop() only takes effect once the listener runs; wait for it so Stop() cannot miss it.
  while (!server_->is_running() && !listener_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!server_) return;
  server_->stop();
  if (listener_.joinable()) listener_.join();
  server_.reset();
}

}  // namespace pgshift
