// The remote CLI's client: URLs it accepts and refuses, token files, the API's error answers
// turned into Status (code, message, field), and a real HttpServer on 127.0.0.1 answering a
// ServerClient (the bearer token sent, 2xx bodies, errors, an unreachable server).
#include "server_client/server_client.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "fixture/temp_dir.h"
#include "http/http_server.h"
#include "server_client/token_file.h"

namespace pgshift {
namespace {

using nlohmann::json;

TEST(ServerUrl, AcceptsHttpAndHttpsWithAPort) {
  auto a = ServerUrl::Parse("http://127.0.0.1:8080");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE(a->tls);
  EXPECT_EQ(a->host_port, "127.0.0.1:8080");
  auto b = ServerUrl::Parse("https://pgshift.example:443/");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->host_port, "pgshift.example:443");
  EXPECT_EQ(b->ToString(), "https://pgshift.example:443");
  auto v6 = ServerUrl::Parse("http://[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host_port, "[::1]:9000");
}

TEST(ServerUrl, RefusesWhatItWouldMisread) {
  for (const char* bad : {"127.0.0.1:8080", "ftp://h:1", "http://h", "http://h:", "http://h:0",
                          "http://h:70000", "http://h:80x", "http://h:80/v1", "http://[::1]"}) {
    auto r = ServerUrl::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  // Credentials in the URL: refused, and the message does not repeat them.
  auto r = ServerUrl::Parse("http://admin:hunter2@h:80");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
  EXPECT_NE(r.status().message().find("--token-file"), std::string::npos);
}

TEST(StatusFromErrorAnswer, CarriesCodeMessageAndField) {
  Status s = StatusFromErrorAnswer(
      400, R"({"error":{"code":"invalid_argument","message":"holds a password",)"
           R"("field":"source.conninfo"}})");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "holds a password (field: source.conninfo)");
  Status nf = StatusFromErrorAnswer(404, R"({"error":{"code":"not_found","message":"no x"}})");
  EXPECT_EQ(nf.code(), Code::kNotFound);
  EXPECT_EQ(nf.message(), "no x");
  Status conflict = StatusFromErrorAnswer(
      409, R"({"error":{"code":"failed_precondition","message":"x is completed"}})");
  EXPECT_EQ(conflict.code(), Code::kFailedPrecondition);
}

TEST(StatusFromErrorAnswer, FallsBackOnTheHttpStatus) {
  EXPECT_EQ(StatusFromErrorAnswer(401, "").code(), Code::kUnauthenticated);
  EXPECT_EQ(StatusFromErrorAnswer(403, "<html>").code(), Code::kPermissionDenied);
  EXPECT_EQ(StatusFromErrorAnswer(503, "").code(), Code::kUnavailable);
  EXPECT_EQ(StatusFromErrorAnswer(500, "").code(), Code::kInternal);
  // The proxy admin API's older form {"error": "message"}.
  Status s = StatusFromErrorAnswer(404, R"({"error":"no such route"})");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "no such route");
  EXPECT_EQ(StatusFromErrorAnswer(502, "").message(), "the server answered HTTP 502");
}

TEST(ApiPath, EncodesTheNameAsOneSegment) {
  EXPECT_EQ(ApiPath("/v1/migrations/", "orders-1", "/start"), "/v1/migrations/orders-1/start");
  EXPECT_EQ(ApiPath("/v1/migrations/", "a/b c"), "/v1/migrations/a%2Fb%20c");
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

TEST(TokenFile, ReadsTheTokenAlone) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/token";
  WriteFile(path, "  pgs_abc\n", 0600);
  auto t = ReadTokenFile(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->token, "pgs_abc");
  EXPECT_TRUE(t->warnings.empty());
}

TEST(TokenFile, WarnsWhenOthersMayReadIt) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/token";
  WriteFile(path, "pgs_abc\n", 0644);
  auto t = ReadTokenFile(path);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->warnings.size(), 1u);
  EXPECT_EQ(t->warnings[0].find("pgs_abc"), std::string::npos);
}

TEST(TokenFile, RefusesWhatIsNotATokenFile) {
  testing::TempDir dir;
  EXPECT_EQ(ReadTokenFile(dir.path() + "/missing").status().code(), Code::kInvalidArgument);
  WriteFile(dir.path() + "/empty", "\n\n", 0600);
  EXPECT_EQ(ReadTokenFile(dir.path() + "/empty").status().code(), Code::kInvalidArgument);
  WriteFile(dir.path() + "/two", "pgs_secret1\npgs_secret2\n", 0600);
  auto two = ReadTokenFile(dir.path() + "/two");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().message().find("pgs_secret"), std::string::npos);
}

TEST(ServerClient, HttpsNeedsACaFile) {
  auto url = ServerUrl::Parse("https://127.0.0.1:1").value();
  EXPECT_EQ(ServerClient::Create(url, {}).status().code(), Code::kInvalidArgument);
  auto plain = ServerUrl::Parse("http://127.0.0.1:1").value();
  EXPECT_EQ(ServerClient::Create(plain, {.ca_file = "/x.pem"}).status().code(),
            Code::kInvalidArgument);
}

class ServerClientAgainstServer : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpRouteTable routes;
    routes.Add("GET", "/v1/whoami", [this](const HttpRequest& r) {
      seen_authorization_ = r.Header("authorization");
      if (r.Header("authorization") != "Bearer pgs_good") {
        return HttpResponse::Json(
            401, {{"error", {{"code", "unauthenticated"}, {"message", "unknown token"}}}});
      }
      return HttpResponse::Json(200, {{"team", "payments"}, {"q", r.query.count("team")}});
    });
    routes.Add("POST", "/v1/clusters", [](const HttpRequest& r) {
      json body = json::parse(r.body);
      if (body.value("name", "").empty()) {
        return HttpResponse::Json(400, {{"error",
                                         {{"code", "invalid_argument"},
                                          {"message", "a name is required"},
                                          {"field", "name"}}}});
      }
      return HttpResponse::Json(201, {{"name", body["name"]}});
    });
    routes.Add("GET", "/v1/not-json",
               [](const HttpRequest&) { return HttpResponse::Text(200, "hello"); });
    server_ = std::make_unique<HttpServer>(std::move(routes), HttpServerOptions{});
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    url_ = ServerUrl::Parse("http://127.0.0.1:" + std::to_string(server_->port())).value();
  }
  void TearDown() override { server_->Stop(); }

  std::unique_ptr<HttpServer> server_;
  ServerUrl url_;
  std::string seen_authorization_;
};

TEST_F(ServerClientAgainstServer, SendsTheBearerTokenAndReadsJson) {
  auto client = ServerClient::Create(url_, {.token = "pgs_good"}).value();
  auto a = client.Get("/v1/whoami", {{"team", "payments"}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body["team"], "payments");
  EXPECT_EQ(a->body["q"], 1);
  EXPECT_EQ(seen_authorization_, "Bearer pgs_good");
}

TEST_F(ServerClientAgainstServer, ErrorAnswersBecomeStatus) {
  auto anonymous = ServerClient::Create(url_, {}).value();
  auto a = anonymous.Get("/v1/whoami");
  EXPECT_EQ(a.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(seen_authorization_, "");
  auto client = ServerClient::Create(url_, {.token = "pgs_good"}).value();
  auto bad = client.Post("/v1/clusters", {{"team", "payments"}});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "a name is required (field: name)");
  auto created = client.Post("/v1/clusters", {{"name", "orders"}});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status, 201);
  EXPECT_EQ(client.Get("/v1/not-json").status().code(), Code::kUnavailable);
  EXPECT_EQ(client.Get("/v1/nothing-here").status().code(), Code::kNotFound);
}

TEST_F(ServerClientAgainstServer, AnUnreachableServerIsUnavailableWithoutTheToken) {
  server_->Stop();
  auto client = ServerClient::Create(url_, {.token = "pgs_secret_value"}).value();
  auto a = client.Get("/v1/whoami");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kUnavailable);
  EXPECT_NE(a.status().message().find(url_.ToString()), std::string::npos);
  EXPECT_EQ(a.status().message().find("pgs_secret_value"), std::string::npos);
}

}  // namespace
}  // namespace pgshift
