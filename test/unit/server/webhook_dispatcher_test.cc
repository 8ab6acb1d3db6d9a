// Webhooks against a real local HTTP receiver (src/http's HttpServer): every event arrives as
// the documented JSON, in order, after the receiver failed the first attempts (retried with
// backoff); a receiver that always fails is given up after the bounded attempts and counted;
// Enqueue never waits for a receiver; URLs are checked and never quoted with their path.
#include "server/webhook_dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "http/http_server.h"

namespace pgshift::server {
namespace {

class Receiver {
 public:
  explicit Receiver(int fail_first, std::chrono::milliseconds delay = {})
      : fail_first_(fail_first) {
    HttpRouteTable routes;
    routes.Add("POST", "/hooks/{key}", [this, delay](const HttpRequest& r) {
      std::this_thread::sleep_for(delay);
      std::lock_guard<std::mutex> l(mu_);
      ++attempts_;
      if (attempts_ <= fail_first_) return HttpResponse::Error(503, "not now");
      bodies_.push_back(nlohmann::json::parse(r.body));
      paths_.push_back(r.path);
      return HttpResponse::Json(200, {{"ok", true}});
    });
    server_ = std::make_unique<HttpServer>(std::move(routes), HttpServerOptions{});
    EXPECT_TRUE(server_->Start("127.0.0.1", 0).ok());
  }
  ~Receiver() { server_->Stop(); }
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hooks/k3y";
  }
  int attempts() {
    std::lock_guard<std::mutex> l(mu_);
    return attempts_;
  }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> l(mu_);
    return bodies_;
  }

 private:
  int fail_first_;
  std::mutex mu_;
  int attempts_ = 0;
  std::vector<nlohmann::json> bodies_;
  std::vector<std::string> paths_;
  std::unique_ptr<HttpServer> server_;
};

WebhookEvent Event(std::string from, std::string to) {
  return {"phase_changed", "orders-1", "orders", "payments", from, to, "because", 1796000000};
}

WebhookOptions Fast() {
  WebhookOptions o;
  o.max_attempts = 4;
  o.first_backoff = std::chrono::milliseconds(20);
  o.timeout = std::chrono::milliseconds(2000);
  return o;
}

TEST(WebhookDispatcher, DeliversInOrderAfterTheReceiverFailedTheFirstAttempts) {
  Receiver receiver(/*fail_first=*/2);
  WebhookDispatcher dispatcher(Fast());
  dispatcher.Enqueue({receiver.Url()}, Event("validating", "ready_for_cutover"));
  dispatcher.Enqueue({receiver.Url()}, Event("ready_for_cutover", "pausing"));
  WebhookEvent failed = Event("verifying", "failed");
  failed.event = "failed";
  dispatcher.Enqueue({receiver.Url()}, failed);
  ASSERT_TRUE(dispatcher.WaitIdle(std::chrono::seconds(10)));
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0], (nlohmann::json{{"event", "phase_changed"},
                                       {"migration", "orders-1"},
                                       {"cluster", "orders"},
                                       {"team", "payments"},
                                       {"from", "validating"},
                                       {"to", "ready_for_cutover"},
                                       {"reason", "because"},
                                       {"at", "2026-11-30T00:53:20Z"}}));
  EXPECT_EQ(bodies[1]["to"], "pausing");
  EXPECT_EQ(bodies[2]["event"], "failed");
  WebhookCounters c = dispatcher.Counters();
  EXPECT_EQ(c.delivered, 3u);
  EXPECT_EQ(c.attempts_failed, 2u);
  EXPECT_EQ(c.gave_up, 0u);
  EXPECT_EQ(receiver.attempts(), 5);
}

TEST(WebhookDispatcher, GivesUpAfterBoundedAttemptsAndKeepsServingOthers) {
  Receiver dead(/*fail_first=*/1000);
  Receiver alive(/*fail_first=*/0);
  WebhookDispatcher dispatcher(Fast());
  dispatcher.Enqueue({dead.Url(), alive.Url()}, Event("validating", "ready_for_cutover"));
  ASSERT_TRUE(dispatcher.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(dead.attempts(), 4);
  EXPECT_EQ(alive.bodies().size(), 1u);
  WebhookCounters c = dispatcher.Counters();
  EXPECT_EQ(c.delivered, 1u);
  EXPECT_EQ(c.gave_up, 1u);
  EXPECT_EQ(c.attempts_failed, 4u);
}

TEST(WebhookDispatcher, EnqueueNeverWaitsForASlowReceiver) {
  Receiver slow(/*fail_first=*/0, std::chrono::milliseconds(300));
  WebhookDispatcher dispatcher(Fast());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) dispatcher.Enqueue({slow.Url()}, Event("a", "b"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  ASSERT_TRUE(dispatcher.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(slow.bodies().size(), 5u);
}

TEST(WebhookDispatcher, AnUnreachableReceiverCountsAndTheQueueIsBounded) {
  WebhookOptions o = Fast();
  o.max_attempts = 2;
  o.max_pending = 3;
  WebhookDispatcher dispatcher(o);
  // Port 1 on loopback: connection refused.
  for (int i = 0; i < 5; ++i) dispatcher.Enqueue({"http://127.0.0.1:1/x"}, Event("a", "b"));
  dispatcher.Enqueue({"ftp://example/x"}, Event("a", "b"));
  ASSERT_TRUE(dispatcher.WaitIdle(std::chrono::seconds(10)));
  WebhookCounters c = dispatcher.Counters();
  EXPECT_EQ(c.gave_up, 3u);
  EXPECT_EQ(c.dropped, 3u);  // two over the bound, one unusable URL
  EXPECT_EQ(c.pending, 0u);
}

TEST(WebhookDispatcher, AReasonInAnotherEncodingIsReplacedNotThrown) {
  Receiver receiver(/*fail_first=*/0);
  WebhookDispatcher dispatcher(Fast());
  WebhookEvent e = Event("validating", "failed");
  e.reason = "source: FATAL: r\xf4le \"app\" does not exist";  // Latin-1, as a server may send
  dispatcher.Enqueue({receiver.Url()}, e);
  ASSERT_TRUE(dispatcher.WaitIdle(std::chrono::seconds(10)));
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(bodies[0]["reason"].get<std::string>().find("does not exist"), std::string::npos);
}

TEST(WebhookUrl, ParsesHostPortPathAndNeverQuotesThePath) {
  auto t = ParseWebhookUrl("https://hooks.example/pgshift?key=s3cret");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->address, "hooks.example:443");
  EXPECT_EQ(t->path, "/pgshift?key=s3cret");
  EXPECT_TRUE(t->tls);
  auto plain = ParseWebhookUrl("http://127.0.0.1:8081");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->address, "127.0.0.1:8081");
  EXPECT_EQ(plain->path, "/");
  for (const char* bad :
       {"hooks.example/x", "http://user:s3cret@h/x", "http://h:99999/s3cret", "http:///s3cret"}) {
    auto r = ParseWebhookUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace pgshift::server
