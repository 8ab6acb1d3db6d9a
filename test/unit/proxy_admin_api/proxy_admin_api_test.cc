// The admin API's bodies survive a round trip through JSON text, take the documented defaults,
// and refuse malformed JSON with an error that names the field.
#include "proxy_admin_api/proxy_admin_api.h"

#include <gtest/gtest.h>

namespace pgshift::proxy_admin {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Through text, as the bodies travel.
json Wire(const json& j) { return json::parse(j.dump()); }

// The message of the refusal of `j`, which must be kInvalidArgument.
template <typename T>
std::string Refusal(const json& j) {
  auto r = T::FromJson(j);
  EXPECT_FALSE(r.ok()) << j.dump();
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

TEST(ProxyAdminApi, Paths) {
  EXPECT_EQ(ClusterRoute(kPause), "/v1/clusters/{cluster}/pause");
  EXPECT_EQ(ClusterPath("orders", kSwitch), "/v1/clusters/orders/switch");
}

TEST(ProxyAdminApi, PauseRoundTripAndDefaults) {
  PauseRequest req{milliseconds(1234), milliseconds(5678)};
  auto back = PauseRequest::FromJson(Wire(req.ToJson()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->deadline, milliseconds(1234));
  EXPECT_EQ(back->lease, milliseconds(5678));
  auto defaults = PauseRequest::FromJson(json::object());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->deadline, milliseconds(5000));
  EXPECT_EQ(defaults->lease, milliseconds(10000));

  PauseAnswer paused{true, 3, {101, 102}, {}, ""};
  auto a = PauseAnswer::FromJson(Wire(paused.ToJson()));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->paused);
  EXPECT_EQ(a->sessions, 3);
  EXPECT_EQ(a->held_backend_pids, (std::vector<int>{101, 102}));
  EXPECT_EQ(paused.ToJson(),
            json::parse(R"({"paused":true,"sessions":3,"held_backend_pids":[101,102]})"));

  PauseAnswer refused{false, 0, {}, {7, 9}, "deadline passed"};
  auto b = PauseAnswer::FromJson(Wire(refused.ToJson()));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_FALSE(b->paused);
  EXPECT_EQ(b->not_drained, (std::vector<uint64_t>{7, 9}));
  EXPECT_EQ(b->reason, "deadline passed");
}

TEST(ProxyAdminApi, OtherBodiesRoundTrip) {
  auto renew = RenewRequest::FromJson(Wire(RenewRequest{milliseconds(300)}.ToJson()));
  ASSERT_TRUE(renew.ok());
  EXPECT_EQ(renew->lease, milliseconds(300));
  auto lapsed = RenewAnswer::FromJson(Wire(RenewAnswer{false, "not paused"}.ToJson()));
  ASSERT_TRUE(lapsed.ok());
  EXPECT_FALSE(lapsed->paused);
  EXPECT_EQ(lapsed->error, "not paused");

  auto prep =
      PrepareRequest::FromJson(Wire(PrepareRequest{"10.0.0.5", 5433, milliseconds(2500)}.ToJson()));
  ASSERT_TRUE(prep.ok()) << prep.status().ToString();
  EXPECT_EQ(prep->host, "10.0.0.5");
  EXPECT_EQ(prep->port, 5433);
  EXPECT_EQ(prep->deadline, milliseconds(2500));
  EXPECT_EQ(PrepareRequest::FromJson(json{{"host", "h"}, {"port", 1}})->deadline,
            milliseconds(3000));
  auto prepared = PrepareAnswer::FromJson(Wire(PrepareAnswer{4, 3, 1}.ToJson()));
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->sessions, 4);
  EXPECT_EQ(prepared->open, 3);
  EXPECT_EQ(prepared->failed, 1);

  SwitchRequest sw{"127.0.0.1", 5433, (uint64_t(1) << 40) + 7};
  auto sw_back = SwitchRequest::FromJson(Wire(sw.ToJson()));
  ASSERT_TRUE(sw_back.ok()) << sw_back.status().ToString();
  EXPECT_EQ(sw_back->host, sw.host);
  EXPECT_EQ(sw_back->port, sw.port);
  EXPECT_EQ(sw_back->version, sw.version);
  auto switched = SwitchAnswer::FromJson(Wire(SwitchAnswer{7, 5, 1, 2}.ToJson()));
  ASSERT_TRUE(switched.ok());
  EXPECT_EQ(switched->version, 7u);
  EXPECT_EQ(switched->moved, 5);
  EXPECT_EQ(switched->pending, 1);
  EXPECT_EQ(switched->replication_staying, 2);

  auto resumed = ResumeAnswer::FromJson(Wire(ResumeAnswer{}.ToJson()));
  ASSERT_TRUE(resumed.ok());
  EXPECT_FALSE(resumed->paused);

  auto stale = ErrorAnswer::FromJson(Wire(ErrorAnswer{"stale version", 7}.ToJson()));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->error, "stale version");
  EXPECT_EQ(stale->version, std::optional<uint64_t>(7));
  EXPECT_FALSE(ErrorAnswer::FromJson(json{{"error", "x"}})->version.has_value());
}

TEST(ProxyAdminApi, ParseBodyWantsAJsonObject) {
  EXPECT_EQ(*ParseBody(""), json::object());
  EXPECT_EQ((*ParseBody(R"({"a":1})"))["a"], 1);
  for (const char* bad : {"{", "[1,2]", "\"text\"", "42", "{\"a\":}"}) {
    auto r = ParseBody(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "the body is not a JSON object");
  }
}

TEST(ProxyAdminApi, MalformedRequestsNameTheField) {
  EXPECT_NE(Refusal<PauseRequest>(json{{"deadline_ms", -1}}).find("\"deadline_ms\""),
            std::string::npos);
  EXPECT_NE(Refusal<PauseRequest>(json{{"lease_ms", "10s"}}).find("\"lease_ms\""),
            std::string::npos);
  EXPECT_NE(Refusal<PauseRequest>(json{{"lease_ms", 1.5}}).find("\"lease_ms\""), std::string::npos);
  EXPECT_NE(Refusal<PauseRequest>(json::array()).find("not a JSON object"), std::string::npos);
  EXPECT_NE(Refusal<RenewRequest>(json{{"lease_ms", true}}).find("\"lease_ms\""),
            std::string::npos);

  EXPECT_EQ(Refusal<SwitchRequest>(json{{"port", 5433}, {"version", 2}}),
            "switch needs \"host\" (a string)");
  EXPECT_EQ(Refusal<SwitchRequest>(json{{"host", ""}, {"port", 5433}, {"version", 2}}),
            "switch needs \"host\" (a string)");
  EXPECT_EQ(Refusal<SwitchRequest>(json{{"host", "h"}, {"version", 2}}),
            "switch needs \"port\" (1-65535)");
  EXPECT_EQ(Refusal<SwitchRequest>(json{{"host", "h"}, {"port", 70000}, {"version", 2}}),
            "switch needs \"port\" (1-65535)");
  EXPECT_NE(Refusal<SwitchRequest>(json{{"host", "h"}, {"port", 5433}}).find("\"version\""),
            std::string::npos);
  EXPECT_NE(Refusal<SwitchRequest>(json{{"host", "h"}, {"port", 5433}, {"version", 0}})
                .find("\"version\""),
            std::string::npos);
  EXPECT_EQ(Refusal<PrepareRequest>(json{{"host", "127.0.0.1"}}),
            "prepare needs \"port\" (1-65535)");
  EXPECT_NE(Refusal<PrepareRequest>(json{{"host", "h"}, {"port", 1}, {"deadline_ms", -5}})
                .find("\"deadline_ms\""),
            std::string::npos);
}

TEST(ProxyAdminApi, MalformedAnswersNameTheField) {
  EXPECT_NE(Refusal<PauseAnswer>(json::object()).find("\"paused\""), std::string::npos);
  EXPECT_NE(Refusal<PauseAnswer>(json{{"paused", true}, {"held_backend_pids", {1, "x"}}})
                .find("\"held_backend_pids\""),
            std::string::npos);
  EXPECT_NE(Refusal<PauseAnswer>(json{{"paused", true}, {"held_backend_pids", 5}})
                .find("\"held_backend_pids\""),
            std::string::npos);
  EXPECT_NE(Refusal<PauseAnswer>(json{{"paused", "yes"}}).find("\"paused\""), std::string::npos);
  EXPECT_NE(Refusal<SwitchAnswer>(json{{"moved", 1}}).find("\"version\""), std::string::npos);
  EXPECT_NE(Refusal<PrepareAnswer>(json{{"open", -1}}).find("\"open\""), std::string::npos);
  EXPECT_NE(Refusal<ErrorAnswer>(json{{"error", 3}}).find("\"error\""), std::string::npos);
  EXPECT_NE(Refusal<ErrorAnswer>(json::object()).find("\"error\""), std::string::npos);
  EXPECT_NE(Refusal<RenewAnswer>(json{{"paused", true}, {"error", 1}}).find("\"error\""),
            std::string::npos);
}

// GET /v1/routes, read by the orchestrator after a refused switch.
TEST(ProxyAdminApi, RoutesAnswerRoundTripsAndNamesABadRoute) {
  RoutesAnswer a;
  a.version = 9223372036854775807ull;
  a.routes["orders"] = {"127.0.0.1", 5433, 9223372036854775807ull, true, false};
  auto back = RoutesAnswer::FromJson(a.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version, a.version);
  EXPECT_EQ(back->routes.at("orders").host, "127.0.0.1");
  EXPECT_EQ(back->routes.at("orders").port, 5433);
  EXPECT_EQ(back->routes.at("orders").version, a.version);
  EXPECT_TRUE(back->routes.at("orders").tls);
  auto bad = RoutesAnswer::FromJson(nlohmann::json::parse(
      R"({"version":1,"routes":{"orders":{"host":"h","port":"x","version":1,"tls":false,"paused":false}}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("route \"orders\": \"port\""), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(RoutesAnswer::FromJson(nlohmann::json::parse(R"({"version":1})")).ok());
}

// Durations are added to a clock's now(): an unbounded one (9223372036854775807 ms) overflowed
// that sum, undefined behaviour in the proxy's pause. An integer must fit its field: a pid of
// 2^32 was read as a negative number, which the answer's own reader then refused.
TEST(ProxyAdminApi, DurationsAndIntegersMustFitTheirFields) {
  EXPECT_TRUE(PauseRequest::FromJson(json{{"deadline_ms", 86400000}, {"lease_ms", 86400000}}).ok());
  EXPECT_NE(Refusal<PauseRequest>(json{{"deadline_ms", 9223372036854775807LL}})
                .find("\"deadline_ms\" must be a non-negative integer of milliseconds up to"),
            std::string::npos);
  EXPECT_NE(Refusal<RenewRequest>(json{{"lease_ms", 86400001}}).find("\"lease_ms\""),
            std::string::npos);
  EXPECT_NE(Refusal<PrepareRequest>(
                json{{"host", "h"}, {"port", 1}, {"deadline_ms", 9223372036854775807LL}})
                .find("\"deadline_ms\""),
            std::string::npos);
  auto pids = PauseAnswer::FromJson(
      json{{"paused", true}, {"sessions", 1}, {"held_backend_pids", {4294967296LL}}});
  ASSERT_FALSE(pids.ok());
  EXPECT_NE(pids.status().message().find("\"held_backend_pids\""), std::string::npos);
}

// A pause request says until when its sender waits for the answer (chaos finding 3: a proxy
// frozen before the cutover must not take the pause when it wakes). Absent in an older engine's
// request; an expired refusal says so in its own field.
TEST(ProxyAdminApi, PauseNotAfterAndExpiredRoundTrip) {
  PauseRequest req{milliseconds(1000), milliseconds(4000), 1796000000123};
  EXPECT_EQ(req.ToJson().at("not_after_unix_ms"), 1796000000123);
  auto back = PauseRequest::FromJson(Wire(req.ToJson()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->not_after_unix_ms.has_value());
  EXPECT_EQ(*back->not_after_unix_ms, 1796000000123);
  auto older = PauseRequest::FromJson(json{{"deadline_ms", 1000}});
  ASSERT_TRUE(older.ok());
  EXPECT_FALSE(older->not_after_unix_ms.has_value());
  EXPECT_FALSE(PauseRequest{}.ToJson().contains("not_after_unix_ms"));
  EXPECT_NE(Refusal<PauseRequest>(json{{"not_after_unix_ms", -5}}).find("\"not_after_unix_ms\""),
            std::string::npos);
  EXPECT_NE(Refusal<PauseRequest>(json{{"not_after_unix_ms", "soon"}}).find("not_after_unix_ms"),
            std::string::npos);

  PauseAnswer expired{false, 0, {}, {}, "expired before this proxy read it", true};
  EXPECT_EQ(expired.ToJson().at("expired"), true);
  auto a = PauseAnswer::FromJson(Wire(expired.ToJson()));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->expired);
  EXPECT_FALSE(a->paused);
  auto plain = PauseAnswer::FromJson(Wire(PauseAnswer{false, 0, {}, {1}, "deadline"}.ToJson()));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->expired);
}

// A route's confirmation (an explicit resume named it since its switch) is in GET /v1/routes;
// an older proxy's answer without it reads as confirmed.
TEST(ProxyAdminApi, RouteConfirmationRoundTrips) {
  RoutesAnswer a;
  a.version = 5;
  a.routes["orders"] = {"127.0.0.1", 5433, 5, false, false, "app", false};
  auto back = RoutesAnswer::FromJson(Wire(a.ToJson()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->routes.at("orders").confirmed);
  auto older = RoutesAnswer::FromJson(json::parse(
      R"({"version":1,"routes":{"orders":{"host":"h","port":1,"version":1,"tls":false,"paused":false}}})"));
  ASSERT_TRUE(older.ok()) << older.status().ToString();
  EXPECT_TRUE(older->routes.at("orders").confirmed);
}

}  // namespace
}  // namespace pgshift::proxy_admin
