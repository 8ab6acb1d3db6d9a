// The backend pool end to end, real PostgreSQL through a real proxy: a new session is handed
// the backend the last one left (same server process), with none of that session's state; a
// backend left in a transaction is closed, not pooled; sessions with other startup parameters
// get their own backends; after a switch new sessions reach the new server only; a pooled
// backend the server ended is not handed out; idle backends age out; a cancel reaches a pooled
// backend.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;

// Polls a proxy metric until it reaches `want` (a loaded machine: up to 30 s); its last value.
long MetricReaches(const ProxyHarness& h, const std::string& name, long want) {
  long v = -1;
  for (int i = 0; i < 1500; ++i) {
    v = h.Metric(name);
    if (v == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return v;
}

std::string Value(PgConnection& c, const std::string& sql) {
  auto v = c.QueryValue(sql);
  return v.ok() ? *v : "error: " + v.status().ToString();
}

// One session that runs `sql`, reports its backend's pid, and ends with a Terminate.
std::string SessionPid(ProxyHarness& h, const std::vector<std::string>& sql = {}) {
  auto c = h.Connect();
  if (!c.ok()) return "error: " + c.status().ToString();
  for (const auto& s : sql) {
    if (!c->Exec(s).ok()) return "error running " + s;
  }
  return Value(*c, "select pg_backend_pid()");
}

TEST(ProxyBackendPool, TheNextSessionGetsTheSameBackendWithNoneOfTheLastSessionsState) {
  ProxyHarness h;
  std::string first = SessionPid(
      h, {"SET statement_timeout = '7s'", "SELECT set_config('app.tenant', 'acme', false)",
          "CREATE TEMP TABLE scratch (x int)", "LISTEN pool_test", "PREPARE p1 AS SELECT 1"});
  ASSERT_EQ(MetricReaches(h, "pgshift_proxy_pool_idle_backends", 1), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_resets_total"), 1);

  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(Value(*c, "select pg_backend_pid()"), first);  // the same server process
  EXPECT_EQ(Value(*c, "select current_setting('statement_timeout')"), "0");
  EXPECT_EQ(Value(*c, "select coalesce(current_setting('app.tenant', true), '')"), "");
  EXPECT_EQ(Value(*c, "select to_regclass('pg_temp.scratch') is null"), "t");
  EXPECT_EQ(Value(*c, "select count(*) from pg_listening_channels()"), "0");
  EXPECT_EQ(Value(*c, "select count(*) from pg_prepared_statements"), "0");
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_hits_total"), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_idle_backends"), 0);
}

TEST(ProxyBackendPool, ABackendLeftInATransactionIsClosedNotPooled) {
  ProxyHarness h;
  std::string first = SessionPid(h, {"BEGIN", "CREATE TABLE left_open (x int)"});
  ASSERT_EQ(MetricReaches(h, "pgshift_proxy_pool_discards_total", 1), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_idle_backends"), 0);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_resets_total"), 0);

  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NE(Value(*c, "select pg_backend_pid()"), first);
  EXPECT_EQ(Value(*c, "select to_regclass('public.left_open') is null"), "t");  // rolled back
}

TEST(ProxyBackendPool, OtherStartupParametersGetTheirOwnBackend) {
  ProxyHarness h;
  std::string first = SessionPid(h);
  ASSERT_EQ(MetricReaches(h, "pgshift_proxy_pool_idle_backends", 1), 1);

  proxy::ClientCert cert = h.pki.Client("svc-orders");
  auto ci = ConnInfo::Parse(h.ConnString(&cert) + " application_name=other-app", "proxy");
  ASSERT_TRUE(ci.ok());
  auto c = PgConnection::Connect(*ci);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NE(Value(*c, "select pg_backend_pid()"), first);
  EXPECT_EQ(Value(*c, "select current_setting('application_name')"), "other-app");
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_hits_total"), 0);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_idle_backends"), 1);  // kept for its own key
}

TEST(ProxyBackendPool, AfterASwitchNewSessionsReachTheNewServerOnly) {
  ProxyHarness h;
  auto target = PgCluster::Primary();  // an independent cluster stands in for the promoted one
  ProxyHarness::PrepareBackend(*target);
  // Two pooled backends on the source.
  {
    auto a = h.Connect();
    auto b = h.Connect();
    ASSERT_TRUE(a.ok() && b.ok());
  }
  ASSERT_EQ(MetricReaches(h, "pgshift_proxy_pool_idle_backends", 2), 2);

  auto paused =
      h.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":20000})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  // The pause emptied the pool: the fence finds no idle backend of the proxy on the source.
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_idle_backends"), 0);
  json sw = {{"host", "127.0.0.1"}, {"port", target->port()}, {"version", 3}};
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", sw.dump()).status, 200);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);

  for (int i = 0; i < 3; ++i) {
    auto c = h.Connect();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(Value(*c, "select inet_server_port()"), std::to_string(target->port()));
  }
  // The source keeps none of the proxy's backends; the new server's are pooled again.
  std::string left;
  for (int i = 0; i < 1500; ++i) {
    left = h.primary->Value("select count(*) from pg_stat_activity where usename = 'app'", "appdb");
    if (left == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(left, "0");
  EXPECT_EQ(MetricReaches(h, "pgshift_proxy_pool_idle_backends", 1), 1);
  EXPECT_GE(h.Metric("pgshift_proxy_pool_hits_total"), 2);
}

TEST(ProxyBackendPool, APooledBackendTheServerEndedIsNotHandedOut) {
  ProxyHarness h;
  std::string first = SessionPid(h);
  ASSERT_EQ(MetricReaches(h, "pgshift_proxy_pool_idle_backends", 1), 1);
  // An operator (or a fence) ends the idle server process: it says 57P01 and hangs up.
  ASSERT_EQ(h.primary->Value("select pg_terminate_backend(" + first + ")"), "t");
  std::string still;
  for (int i = 0; i < 1500; ++i) {
    still = h.primary->Value("select count(*) from pg_stat_activity where pid = " + first);
    if (still == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(still, "0");

  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string pid = Value(*c, "select pg_backend_pid()");
  EXPECT_NE(pid, first);
  EXPECT_EQ(pid.rfind("error", 0), std::string::npos) << pid;
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_hits_total"), 0);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_discards_total"), 1);
}

TEST(ProxyBackendPool, IdleBackendsAgeOut) {
  ProxyHarness h({.proxy_config = "pool_idle_timeout = 1\n"});
  std::string first = SessionPid(h);
  ASSERT_EQ(MetricReaches(h, "pgshift_proxy_pool_resets_total", 1), 1);
  // Aged out by the once-a-second sweep: the server process ends.
  EXPECT_EQ(MetricReaches(h, "pgshift_proxy_pool_discards_total", 1), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_idle_backends"), 0);
  std::string still;
  for (int i = 0; i < 1500; ++i) {
    still = h.primary->Value("select count(*) from pg_stat_activity where pid = " + first);
    if (still == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(still, "0");
}

TEST(ProxyBackendPool, PoolSizeZeroTurnsPoolingOff) {
  ProxyHarness h({.proxy_config = "pool_size = 0\n"});
  std::string first = SessionPid(h);
  std::string second = SessionPid(h);
  EXPECT_NE(first, second);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_hits_total"), 0);
  EXPECT_EQ(h.Metric("pgshift_proxy_pool_resets_total"), 0);
}

TEST(ProxyBackendPool, CancelReachesAPooledBackend) {
  ProxyHarness h;
  std::string first = SessionPid(h);
  ASSERT_EQ(MetricReaches(h, "pgshift_proxy_pool_idle_backends", 1), 1);
  auto c = h.Connect();
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(Value(*c, "select pg_backend_pid()"), first);
  ASSERT_EQ(PQsendQuery(c->raw(), "select pg_sleep(60)"), 1);
  for (int i = 0; i < 1500; ++i) {
    if (h.primary->Value("select count(*) from pg_stat_activity where pid = " + first +
                         " and state = 'active'") == "1") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  PGcancel* cancel = PQgetCancel(c->raw());
  char err[256];
  ASSERT_EQ(PQcancel(cancel, err, sizeof(err)), 1) << err;
  PQfreeCancel(cancel);
  PGresult* r = PQgetResult(c->raw());
  ASSERT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
  PQclear(r);
  while ((r = PQgetResult(c->raw()))) PQclear(r);
  EXPECT_EQ(Value(*c, "select 1"), "1");
}

}  // namespace
}  // namespace pgshift::testing
