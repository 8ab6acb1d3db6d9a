// A real HttpServer on 127.0.0.1 (a free port) driven by the real HttpClient: routing, the
// JSON errors, the limits, a throwing handler, timeouts, concurrency and TLS.
#include "http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fixture/temp_dir.h"
#include "http/http_client.h"

namespace pgshift {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

HttpRequest Request(const std::string& method, const std::string& path,
                    const std::string& body = "") {
  HttpRequest r;
  r.method = method;
  r.path = path;
  r.body = body;
  return r;
}

// A gate that requests wait on until the test opens it.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(milliseconds limit) {
    std::unique_lock<std::mutex> l(mu_);
    waiting_++;
    cv_.notify_all();
    return cv_.wait_for(l, limit, [this] { return open_; });
  }
  void AwaitWaiters(int n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

class HttpServerTest : public ::testing::Test {
 protected:
  HttpRouteTable Routes() {
    HttpRouteTable t;
    t.Add("GET", "/hello", [](const HttpRequest&) { return HttpResponse::Text(200, "hi\n"); });
    t.Add("POST", "/echo", [](const HttpRequest& r) {
      return HttpResponse::Json(200, {{"body", r.body},
                                      {"query", r.query},
                                      {"x-custom", r.Header("X-Custom")},
                                      {"content-type", r.Header("content-type")}});
    });
    t.Add("POST", "/items/{item}/{verb}", [](const HttpRequest& r) {
      return HttpResponse::Json(201,
                                {{"item", r.PathParam("item")}, {"verb", r.PathParam("verb")}});
    });
    t.Add("DELETE", "/items/{item}/{verb}",
          [](const HttpRequest&) { return HttpResponse::Json(200, json::object()); });
    t.Add("GET", "/throw", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("secret-in-exception");
    });
    t.Add("GET", "/sleep", [](const HttpRequest& r) {
      std::this_thread::sleep_for(milliseconds(std::atoi(r.query.at("ms").c_str())));
      return HttpResponse::Text(200, "slept");
    });
    t.Add("GET", "/wait", [this](const HttpRequest&) {
      return HttpResponse::Text(gate_.Wait(std::chrono::seconds(10)) ? 200 : 504, "");
    });
    t.Add("POST", "/open", [this](const HttpRequest&) {
      gate_.Open();
      return HttpResponse::Text(200, "");
    });
    return t;
  }

  void Start(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(Routes(), options);
    Status st = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_GT(server_->port(), 0);
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  HttpResponse Send(const HttpRequest& r, milliseconds timeout = milliseconds(5000)) {
    auto got = HttpClient(Address()).Send(r, timeout);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : HttpResponse{0, "", "", {}};
  }

  std::string Error(const HttpResponse& r) {
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return j.is_object() ? j.value("error", "") : "";
  }

  Gate gate_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesByMethodAndExactPath) {
  Start();
  HttpResponse hello = Send(Request("GET", "/hello"));
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hi\n");
  EXPECT_EQ(hello.content_type, "text/plain");

  HttpRequest echo = Request("POST", "/echo", R"({"a":1})");
  echo.query = {{"q", "a b&c"}, {"n", "1"}};
  echo.headers["x-custom"] = "yes";
  HttpResponse e = Send(echo);
  ASSERT_EQ(e.status, 200) << e.body;
  json j = json::parse(e.body);
  EXPECT_EQ(j["body"], R"({"a":1})");
  EXPECT_EQ(j["query"]["q"], "a b&c");
  EXPECT_EQ(j["query"]["n"], "1");
  EXPECT_EQ(j["x-custom"], "yes");
  EXPECT_EQ(j["content-type"], "application/json");

  HttpResponse item = Send(Request("POST", "/items/42/pause"));
  EXPECT_EQ(item.status, 201);
  EXPECT_EQ(json::parse(item.body), json({{"item", "42"}, {"verb", "pause"}}));
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithJsonErrors) {
  Start();
  for (const char* path : {"/nope", "/hello/", "/hello/x", "/items/42", "/items//pause", "/"}) {
    HttpResponse r = Send(Request("GET", path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(Error(r).find("no such endpoint"), std::string::npos) << path;
  }
  HttpResponse r = Send(Request("POST", "/hello"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
  EXPECT_EQ(Error(r), "use GET for /hello");
  HttpResponse put = Send(Request("PUT", "/items/1/x"));
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.headers["allow"], "POST, DELETE");
}

TEST_F(HttpServerTest, AGuardAnswersBeforeRouting) {
  HttpRouteTable t = Routes();
  t.SetGuard([](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.Header("authorization") == "Bearer ok") return std::nullopt;
    return HttpResponse::Error(401, "no");
  });
  server_ = std::make_unique<HttpServer>(std::move(t), HttpServerOptions{});
  ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
  EXPECT_EQ(Send(Request("GET", "/nope")).status, 401);
  HttpRequest ok = Request("GET", "/hello");
  ok.headers["Authorization"] = "Bearer ok";
  EXPECT_EQ(Send(ok).status, 200);
}

TEST_F(HttpServerTest, ABodyOverTheLimitIs413) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  Start(o);
  EXPECT_EQ(Send(Request("POST", "/echo", std::string(1000, 'x'))).status, 200);
  HttpResponse r = Send(Request("POST", "/echo", std::string(4096, 'x')));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Error(r), "request body larger than 1024 bytes");
  EXPECT_EQ(Send(Request("GET", "/hello")).status, 200);
}

TEST_F(HttpServerTest, HeadersOverTheLimitAre431) {
  HttpServerOptions o;
  o.max_header_bytes = 1024;
  Start(o);
  HttpRequest r = Request("GET", "/hello");
  r.headers["x-big"] = std::string(2000, 'h');
  HttpResponse big = Send(r);
  EXPECT_EQ(big.status, 431);
  EXPECT_EQ(Error(big), "request headers larger than 1024 bytes");
}

TEST_F(HttpServerTest, AThrowingHandlerIs500AndTheServerKeepsServing) {
  Start();
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = Send(Request("GET", "/throw"));
    EXPECT_EQ(r.status, 500);
    std::string error = Error(r);
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(r.body.find("secret-in-exception"), std::string::npos) << r.body;
    EXPECT_EQ(Send(Request("GET", "/hello")).status, 200);
  }
}

TEST_F(HttpServerTest, TheDispatchWorksWithoutASocket) {
  HttpRouteTable t = Routes();
  EXPECT_EQ(t.Dispatch(Request("GET", "/hello")).body, "hi\n");
  EXPECT_EQ(t.Dispatch(Request("GET", "/throw")).status, 500);
  EXPECT_EQ(t.Dispatch(Request("GET", "/missing")).status, 404);
}

TEST_F(HttpServerTest, AClientTimeoutOrAnAbsentPeerIsUnavailable) {
  Start();
  HttpRequest slow = Request("GET", "/sleep");
  slow.query["ms"] = "1500";
  auto t0 = Clock::now();
  auto r = HttpClient(Address()).Send(slow, milliseconds(200));
  EXPECT_LT(Clock::now() - t0, milliseconds(1200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);

  int port = server_->port();
  server_->Stop();
  auto down = HttpClient("127.0.0.1:" + std::to_string(port))
                  .Send(Request("GET", "/hello"), milliseconds(1000));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable);

  auto bad = HttpClient("no-port").Send(Request("GET", "/"), milliseconds(100));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST_F(HttpServerTest, ASilentClientIsCutOffByTheReadTimeout) {
  HttpServerOptions o;
  o.read_timeout = milliseconds(200);
  Start(o);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(server_->port()));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::send(fd, "GET /hel", 8, 0), 8);  // and then nothing
  auto t0 = Clock::now();
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1) << "the server never closed the connection";
  char buf[512];
  (void)::recv(fd, buf, sizeof buf, 0);
  EXPECT_LT(Clock::now() - t0, milliseconds(2000));
  ::close(fd);
  EXPECT_EQ(Send(Request("GET", "/hello")).status, 200);
}

TEST_F(HttpServerTest, ABlockedRequestDoesNotDelayOthers) {
  Start();
  auto waiting = std::async(std::launch::async, [&] { return Send(Request("GET", "/wait")); });
  gate_.AwaitWaiters(1);
  // Many short requests at once while one is blocked, then the one that unblocks it.
  std::vector<std::future<HttpResponse>> slow;
  HttpRequest sleep = Request("GET", "/sleep");
  sleep.query["ms"] = "300";
  auto t0 = Clock::now();
  for (int i = 0; i < 8; ++i) {
    slow.push_back(std::async(std::launch::async, [&] { return Send(sleep); }));
  }
  for (auto& f : slow) EXPECT_EQ(f.get().status, 200);
  EXPECT_LT(Clock::now() - t0, milliseconds(8 * 300));  // served side by side
  EXPECT_EQ(Send(Request("POST", "/open")).status, 200);
  EXPECT_EQ(waiting.get().status, 200);
}

TEST_F(HttpServerTest, AConnectionOverTheLimitIs503) {
  HttpServerOptions o;
  o.max_connections = 2;
  Start(o);
  auto a = std::async(std::launch::async, [&] { return Send(Request("GET", "/wait")); });
  auto b = std::async(std::launch::async, [&] { return Send(Request("GET", "/wait")); });
  gate_.AwaitWaiters(2);
  HttpResponse over = Send(Request("GET", "/hello"));
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(Error(over), "too many connections (limit 2)");
  gate_.Open();
  EXPECT_EQ(a.get().status, 200);
  EXPECT_EQ(b.get().status, 200);
  // The workers are free again (the client has closed; give the server a moment to see it).
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = Send(Request("GET", "/hello")).status;
    if (status != 200) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HttpServerTest, APortInUseIsUnavailable) {
  Start();
  HttpServer second(Routes(), {});
  Status st = second.Start("127.0.0.1", server_->port());
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
}

TEST_F(HttpServerTest, ServesHttpsWithACertificate) {
  testing::TempDir dir("pgshift-http");
  std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);

  HttpServerOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  Start(o);
  auto r = HttpClient(Address(), {cert}).Send(Request("GET", "/hello"), milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hi\n");
  // A plain HTTP client gets no answer it can use.
  auto plain = HttpClient(Address()).Send(Request("GET", "/hello"), milliseconds(2000));
  EXPECT_TRUE(!plain.ok() || plain->status != 200);

  HttpServerOptions missing;
  missing.tls_cert_file = dir.path() + "/none.pem";
  missing.tls_key_file = key;
  HttpServer broken(Routes(), missing);
  EXPECT_EQ(broken.Start("127.0.0.1", 0).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pgshift
