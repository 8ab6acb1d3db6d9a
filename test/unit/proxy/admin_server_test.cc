// The admin API's routing, authorization and refusals, through AdminServer::Handle (no
// socket) and once over a real socket; the bodies it answers parse with the shared contract.
#include "proxy/admin_server.h"

#include <gtest/gtest.h>

#include <fstream>

#include "fixture/temp_dir.h"
#include "http/http_client.h"
#include "proxy_admin_api/proxy_admin_api.h"

namespace pgshift::proxy {
namespace {

using nlohmann::json;
namespace api = proxy_admin;

constexpr const char* kToken = "Bearer tok-secret-123";

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string secret = dir_.path() + "/pw", token = dir_.path() + "/token";
    std::ofstream(secret) << "s3cret-value\n";
    std::ofstream(token) << "tok-secret-123\n";
    auto c = ParseProxyConfig(
        "[proxy]\nlisten = 127.0.0.1:7000\nadmin_listen = 127.0.0.1:7001\n"
        "admin_token_file = " +
            token + "\nclient_tls = off\n\n[cluster orders]\nport = 5432\nuser = app\n" +
            "password_file = " + secret + "\n",
        "p.ini");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ctx_ = std::make_unique<ProxyContext>(*c);
    pauses_ = std::make_unique<PauseController>(*ctx_);
    admin_ = std::make_unique<AdminServer>(*ctx_, *pauses_);
  }

  HttpResponse Post(const std::string& path, const std::string& body = "",
                    const std::string& auth = kToken) {
    return admin_->Handle("POST", path, auth, body);
  }
  static std::string Error(const HttpResponse& r) {
    auto e = api::ErrorAnswer::FromJson(json::parse(r.body));
    EXPECT_TRUE(e.ok()) << r.body;
    return e.ok() ? e->error : "";
  }

  testing::TempDir dir_{"pgshift-admin"};
  std::unique_ptr<ProxyContext> ctx_;
  std::unique_ptr<PauseController> pauses_;
  std::unique_ptr<AdminServer> admin_;
};

TEST_F(AdminServerTest, EverythingButHealthNeedsTheToken) {
  HttpResponse health = admin_->Handle("GET", "/healthz", "", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  for (const char* path : {"/v1/sessions", "/metrics", "/nowhere", "/v1/clusters/orders/pause"}) {
    for (const char* auth : {"", "Bearer wrong-token-value", "tok-secret-123"}) {
      HttpResponse r = admin_->Handle("GET", path, auth, "");
      EXPECT_EQ(r.status, 401) << path << " " << auth;
      EXPECT_EQ(Error(r), "missing or wrong bearer token");
    }
  }
  EXPECT_EQ(admin_->Handle("GET", "/v1/sessions", kToken, "").status, 200);
  EXPECT_EQ(admin_->Handle("GET", "/metrics", kToken, "").content_type,
            "text/plain; version=0.0.4");
}

TEST_F(AdminServerTest, UnknownPathsClustersAndMethods) {
  EXPECT_EQ(admin_->Handle("GET", "/nowhere", kToken, "").status, 404);
  EXPECT_EQ(Post("/v1/clusters/orders/explode").status, 404);
  HttpResponse nope = Post("/v1/clusters/nope/pause", "{}");
  EXPECT_EQ(nope.status, 404);
  EXPECT_EQ(Error(nope), "unknown cluster 'nope'");
  HttpResponse get = admin_->Handle("GET", "/v1/clusters/orders/pause", kToken, "");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(Error(get), "use POST for /v1/clusters/orders/pause");
}

// A path is bytes from the network: invalid UTF-8 in it (nlohmann::json's dump throws on it by
// default) still gets a JSON refusal, never an exception or an abort. Seeds of the same cases
// are in fuzz/seeds/admin_api.
TEST_F(AdminServerTest, InvalidUtf8InThePathGetsAJsonRefusal) {
  const std::string bad_cluster = "/v1/clusters/\xff\xfe\xc3(/pause";
  HttpResponse r;
  ASSERT_NO_THROW(r = Post(bad_cluster, "{}"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(Error(r).find("unknown cluster"), std::string::npos) << r.body;
  for (const std::string& path :
       {std::string("/\xc3\x28\xa0\xa1"), std::string("/v1/clusters/orders/\xff"),
        std::string("/healthz/\xff")}) {
    HttpResponse unknown;
    ASSERT_NO_THROW(unknown = admin_->Handle("GET", path, kToken, ""));
    EXPECT_EQ(unknown.status, 404) << unknown.body;
    EXPECT_FALSE(json::parse(unknown.body, nullptr, false).is_discarded()) << unknown.body;
  }
  HttpResponse body;
  ASSERT_NO_THROW(body = Post("/v1/clusters/orders/pause", "{\"deadline_ms\":\"\xff\"}"));
  EXPECT_EQ(Error(body), "the body is not a JSON object");
}

TEST_F(AdminServerTest, MalformedBodiesAre400NamingTheField) {
  EXPECT_EQ(Error(Post("/v1/clusters/orders/pause", "{not json")), "the body is not a JSON object");
  EXPECT_NE(Error(Post("/v1/clusters/orders/pause", R"({"deadline_ms":-1})")).find("deadline_ms"),
            std::string::npos);
  EXPECT_NE(Error(Post("/v1/clusters/orders/renew", R"({"lease_ms":"x"})")).find("lease_ms"),
            std::string::npos);
  HttpResponse sw = Post("/v1/clusters/orders/switch", R"({"host":"127.0.0.1"})");
  EXPECT_EQ(sw.status, 400);
  EXPECT_EQ(Error(sw), "switch needs \"port\" (1-65535)");
  EXPECT_EQ(Post("/v1/clusters/orders/prepare", R"({"port":5433})").status, 400);
}

TEST_F(AdminServerTest, PauseRenewResumeAnswerTheContract) {
  HttpResponse p = Post("/v1/clusters/orders/pause", R"({"deadline_ms":500,"lease_ms":5000})");
  ASSERT_EQ(p.status, 200) << p.body;
  auto paused = api::PauseAnswer::FromJson(json::parse(p.body));
  ASSERT_TRUE(paused.ok()) << paused.status().ToString();
  EXPECT_TRUE(paused->paused);
  EXPECT_EQ(paused->sessions, 0);
  EXPECT_TRUE(paused->held_backend_pids.empty());

  HttpResponse renewed = Post("/v1/clusters/orders/renew", R"({"lease_ms":5000})");
  EXPECT_EQ(renewed.status, 200);
  EXPECT_TRUE(api::RenewAnswer::FromJson(json::parse(renewed.body))->paused);
  HttpResponse resumed = Post("/v1/clusters/orders/resume");
  EXPECT_EQ(resumed.status, 200);
  EXPECT_FALSE(api::ResumeAnswer::FromJson(json::parse(resumed.body))->paused);
  HttpResponse lapsed = Post("/v1/clusters/orders/renew", "{}");
  EXPECT_EQ(lapsed.status, 409);
  EXPECT_FALSE(api::RenewAnswer::FromJson(json::parse(lapsed.body))->paused);
}

TEST_F(AdminServerTest, ServesOverASocketOnAFreePort) {
  ASSERT_TRUE(admin_->Start("127.0.0.1", 0).ok());
  ASSERT_GT(admin_->port(), 0);
  HttpRequest r;
  r.method = "GET";
  r.path = "/v1/routes";
  r.headers["authorization"] = kToken;
  auto got =
      HttpClient("127.0.0.1:" + std::to_string(admin_->port())).Send(r, std::chrono::seconds(5));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->status, 200);
  json routes = json::parse(got->body);
  EXPECT_EQ(routes["routes"]["orders"]["port"], 5432);
  EXPECT_EQ(got->body.find("s3cret"), std::string::npos);
  admin_->Stop();
}

}  // namespace
}  // namespace pgshift::proxy
