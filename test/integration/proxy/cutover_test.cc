// Pause / switch / resume: held sessions survive a switch with their prepared statements
// and settings; sessions with state that cannot move are ended cleanly; pauses end by
// deadline, lease lapse or resume; route versions only increase.
#include <gtest/gtest.h>

#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;

std::string SwitchBody(int port, int version) {
  return json{{"host", "127.0.0.1"}, {"port", port}, {"version", version}}.dump();
}

// A pause that drains within 5 s and is not lapsing during the test.
constexpr const char* kHoldingPause = R"({"deadline_ms":5000,"lease_ms":20000})";

// An independent cluster stands in for the promoted target, with row 1 of `items`.
std::unique_ptr<PgCluster> TargetWithRow(const std::string& note) {
  auto target = PgCluster::Primary();
  ProxyHarness::PrepareBackend(*target);
  target->Sql("insert into items values (1, '" + note + "')", "appdb");
  return target;
}

// The number of the proxy's backends (role app) on `server`, once it reached zero or after
// 5 s: a closed connection's server process takes a moment to go away.
std::string AppBackendsAfterWaiting(const PgCluster& server, const std::string& dbname) {
  std::string left;
  for (int i = 0; i < 250; ++i) {
    left = server.Value("select count(*) from pg_stat_activity where usename = 'app'", dbname);
    if (left == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return left;
}

TEST(ProxyCutover, HeldSessionMovesToTheNewServerWithItsPreparedStatements) {
  ProxyHarness h;
  auto target = PgCluster::Primary();  // an independent cluster stands in for the promoted target
  ProxyHarness::PrepareBackend(*target);
  target->Sql("insert into items values (1, 'on target')", "appdb");
  h.primary->Sql("insert into items values (1, 'on source')", "appdb");

  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->Exec("SET application_name = 'Held-Session'").ok());
  PGresult* p = PQprepare(c->raw(), "note_of", "select note from items where id = $1", 1, nullptr);
  ASSERT_EQ(PQresultStatus(p), PGRES_COMMAND_OK);
  PQclear(p);
  EXPECT_EQ(*c->QueryValue("select note from items where id = 1"), "on source");

  auto t0 = std::chrono::steady_clock::now();
  auto paused = h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause);
  auto t_paused = std::chrono::steady_clock::now();
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(json::parse(paused.body)["sessions"], 1);

  // A query sent now is held by the proxy (it does not reach either server yet).
  auto held = std::async(std::launch::async, [&] {
    const char* v[] = {"1"};
    PGresult* r = PQexecPrepared(c->raw(), "note_of", 1, v, nullptr, nullptr, 0);
    std::string out = PQresultStatus(r) == PGRES_TUPLES_OK
                          ? PQgetvalue(r, 0, 0)
                          : std::string("error: ") + PQerrorMessage(c->raw());
    PQclear(r);
    return out;
  });
  bool seen_held = false;
  for (int i = 0; i < 500 && !seen_held; ++i) {
    auto list = json::parse(h.Admin("GET", "/v1/sessions").body)["sessions"];
    seen_held = list.size() == 1 && list[0]["held"] == true;
    if (!seen_held) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(seen_held);
  EXPECT_EQ(held.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  auto t_switch = std::chrono::steady_clock::now();
  auto sw = h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target->port(), 7));
  auto t_switched = std::chrono::steady_clock::now();
  ASSERT_EQ(sw.status, 200) << sw.body;
  EXPECT_EQ(json::parse(sw.body)["version"], 7);
  EXPECT_EQ(json::parse(sw.body)["moved"], 1);

  auto t_resume = std::chrono::steady_clock::now();
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  EXPECT_EQ(held.get(), "on target");
  auto t_done = std::chrono::steady_clock::now();
  // Once traffic runs on the new server, the old connection is closed: its process goes away.
  EXPECT_EQ(AppBackendsAfterWaiting(*h.primary, "postgres"), "0");
  // Reported, not asserted: how long each verb took here (one idle session).
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  RecordProperty("pause_ms", std::to_string(ms(t0, t_paused)));
  RecordProperty("switch_ms", std::to_string(ms(t_switch, t_switched)));
  RecordProperty("resume_to_result_ms", std::to_string(ms(t_resume, t_done)));
  std::cout << "cutover verbs: pause " << ms(t0, t_paused) << " ms, switch (1 session) "
            << ms(t_switch, t_switched) << " ms, resume to held result " << ms(t_resume, t_done)
            << " ms\n";
  EXPECT_EQ(*c->QueryValue("select current_setting('application_name')"), "Held-Session");
  EXPECT_EQ(*c->QueryValue("select inet_server_port()"), std::to_string(target->port()));
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_moved_total"), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_pauses_total"), 1);

  auto routes = json::parse(h.Admin("GET", "/v1/routes").body);
  EXPECT_EQ(routes["routes"]["orders"]["port"], target->port());
  EXPECT_EQ(routes["routes"]["orders"]["version"], 7);
  // Versions only increase.
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(h.primary->port(), 7)).status,
            409);
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(h.primary->port(), 3)).status,
            409);
}

// What a session has set is read from its old server at the switch, not guessed from its SQL:
// set_config() is carried, a SET rolled back with its transaction is not, and nothing
// transaction-scoped is replayed on a target that is still in recovery.
TEST(ProxyCutover, SessionSettingsAreCarriedAsTheOldServerHasThem) {
  ProxyHarness h;
  auto target = PgCluster::ReplicaOf(*h.primary);  // still a standby when the session moves
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->Exec("SELECT set_config('search_path', 'pg_catalog, public', false)").ok());
  ASSERT_TRUE(c->Exec(R"(SELECT set_config('app.tenant', E'o\'brien\\x', false))").ok());
  ASSERT_TRUE(c->Exec("BEGIN").ok());
  ASSERT_TRUE(c->Exec("SET statement_timeout = '7s'").ok());
  ASSERT_TRUE(c->Exec("ROLLBACK").ok());
  ASSERT_TRUE(c->Exec("SET transaction_read_only = off").ok());
  ASSERT_TRUE(c->Exec("SET lock_timeout = '3s'").ok());
  h.primary->WaitReplayed(*target);

  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause).status, 200);
  auto sw = h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target->port(), 7));
  ASSERT_EQ(sw.status, 200) << sw.body;
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  auto value = [&](const std::string& sql) {
    auto v = c->QueryValue(sql);
    return v.ok() ? *v : "error: " + v.status().ToString();
  };

  EXPECT_EQ(value("select inet_server_port()"), std::to_string(target->port()));
  EXPECT_EQ(value("select pg_is_in_recovery()"), "t");
  EXPECT_EQ(value("select current_setting('search_path')"), "pg_catalog, public");
  EXPECT_EQ(value("select current_setting('app.tenant')"), "o'brien\\x");
  EXPECT_EQ(value("select current_setting('statement_timeout')"), "0");
  EXPECT_EQ(value("select current_setting('lock_timeout')"), "3s");
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_moved_total"), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_ended_on_switch_total"), 0);
}

// The cutover asks the proxy to open each session's connection to the target before the
// pause; the switch then moves the session onto that very connection (its server process
// existed before the switch) with its settings and prepared statements replayed. The pause
// names the old server's backend it holds (the fence leaves it alone); that backend stays,
// idle, until traffic has resumed on the new server, then the proxy closes it.
TEST(ProxyCutover, PreparedStandbyLinkIsTheConnectionTheSwitchMovesTo) {
  ProxyHarness h;
  auto target = TargetWithRow("on target");
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->Exec("SET application_name = 'Prepared-Session'").ok());
  PGresult* p = PQprepare(c->raw(), "note_of", "select note from items where id = $1", 1, nullptr);
  ASSERT_EQ(PQresultStatus(p), PGRES_COMMAND_OK);
  PQclear(p);

  std::string prepare_body = json{{"host", "127.0.0.1"}, {"port", target->port()}}.dump();
  auto prepared = h.Admin("POST", "/v1/clusters/orders/prepare", prepare_body);
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  EXPECT_EQ(json::parse(prepared.body)["open"], 1) << prepared.body;
  std::string standby_pid =
      target->Value("select pid from pg_stat_activity where usename = 'app'", "appdb");
  ASSERT_FALSE(standby_pid.empty());
  // Still on the source until the switch.
  EXPECT_EQ(*c->QueryValue("select inet_server_port()"), std::to_string(h.primary->port()));

  std::string source_pid = *c->QueryValue("select pg_backend_pid()");
  auto paused = h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause);
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(json::parse(paused.body)["held_backend_pids"], json::array({std::stoi(source_pid)}));
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target->port(), 7)).status,
            200);
  // Moved, but traffic is still held: the old backend is kept.
  EXPECT_EQ(h.primary->Value("select count(*) from pg_stat_activity where pid = " + source_pid),
            "1");
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  EXPECT_EQ(AppBackendsAfterWaiting(*h.primary, "postgres"), "0");

  EXPECT_EQ(*c->QueryValue("select pg_backend_pid()"), standby_pid);
  EXPECT_EQ(*c->QueryValue("select current_setting('application_name')"), "Prepared-Session");
  const char* v[] = {"1"};
  PGresult* r = PQexecPrepared(c->raw(), "note_of", 1, v, nullptr, nullptr, 0);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c->raw());
  EXPECT_STREQ(PQgetvalue(r, 0, 0), "on target");
  PQclear(r);
  EXPECT_EQ(h.Metric("pgshift_proxy_standby_links_used_total"), 1);
}

// A cutover that rolls back resumes where it was: the prepared connections to the abandoned
// target are closed, the session goes on with the very backend it had on the old server, and
// a bad prepare request is refused with a reason.
TEST(ProxyCutover, ResumeWithoutASwitchClosesThePreparedLinks) {
  ProxyHarness h;
  auto target = PgCluster::Primary();
  ProxyHarness::PrepareBackend(*target);
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string prepare_body = json{{"host", "127.0.0.1"}, {"port", target->port()}}.dump();
  auto prepared = h.Admin("POST", "/v1/clusters/orders/prepare", prepare_body);
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  EXPECT_EQ(target->Value("select count(*) from pg_stat_activity where usename = 'app'", "appdb"),
            "1");
  std::string source_pid = *c->QueryValue("select pg_backend_pid()");
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause).status, 200);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  EXPECT_EQ(AppBackendsAfterWaiting(*target, "appdb"), "0");
  EXPECT_EQ(*c->QueryValue("select inet_server_port()"), std::to_string(h.primary->port()));
  EXPECT_EQ(*c->QueryValue("select pg_backend_pid()"), source_pid);

  auto bad = h.Admin("POST", "/v1/clusters/orders/prepare", R"({"host":"127.0.0.1"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("port"), std::string::npos) << bad.body;
}

TEST(ProxyCutover, SessionWithATemporaryTableIsEndedAndTold) {
  ProxyHarness h;
  auto target = PgCluster::Primary();
  ProxyHarness::PrepareBackend(*target);
  auto pinned = h.Connect();
  auto plain = h.Connect();
  ASSERT_TRUE(pinned.ok() && plain.ok());
  ASSERT_TRUE(pinned->Exec("create temp table scratch (a int)").ok());
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause).status, 200);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target->port(), 1)).status,
            200);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  // What psql would print: the connection's error text holds the proxy's FATAL message.
  PGresult* r = PQexec(pinned->raw(), "select 1");
  EXPECT_NE(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  std::string error = PQerrorMessage(pinned->raw());
  EXPECT_NE(error.find("a temporary table, which cannot be carried over; reconnect"),
            std::string::npos)
      << error;
  EXPECT_EQ(*plain->QueryValue("select inet_server_port()"), std::to_string(target->port()));
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_ended_on_switch_total"), 1);
}

TEST(ProxyCutover, PauseThatCannotDrainFailsAtItsDeadlineAndReleases) {
  ProxyHarness h;
  auto busy = h.Connect();
  ASSERT_TRUE(busy.ok());
  ASSERT_TRUE(busy->Exec("begin").ok());
  ASSERT_TRUE(busy->Exec("insert into items values (5, 'in flight')").ok());
  auto r = h.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":300,"lease_ms":10000})");
  ASSERT_EQ(r.status, 409) << r.body;
  auto body = json::parse(r.body);
  EXPECT_EQ(body["paused"], false);
  ASSERT_EQ(body["not_drained"].size(), 1u);
  // Released: the transaction and new sessions continue.
  ASSERT_TRUE(busy->Exec("commit").ok());
  auto other = h.Connect();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other->QueryValue("select count(*) from items"), "1");
  EXPECT_EQ(h.Metric("pgshift_proxy_pause_failures_total"), 1);
}

TEST(ProxyCutover, PauseWaitsForOpenTransactionsToEnd) {
  ProxyHarness h;
  auto busy = h.Connect();
  ASSERT_TRUE(busy.ok());
  ASSERT_TRUE(busy->Exec("begin").ok());
  auto pause = std::async(std::launch::async, [&] {
    return h.Admin("POST", "/v1/clusters/orders/pause",
                   R"({"deadline_ms":20000,"lease_ms":20000})");
  });
  EXPECT_EQ(pause.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  ASSERT_TRUE(busy->Exec("commit").ok());  // in a transaction: not held
  auto r = pause.get();
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
}

TEST(ProxyCutover, UnrenewedLeaseLapsesAndTrafficResumesByItself) {
  ProxyHarness h;
  auto c = h.Connect();
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(
      h.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":300})").status,
      200);
  // Renewing works while the lease holds; no resume is ever sent.
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/orders/renew", R"({"lease_ms":300})").status, 200);
  EXPECT_EQ(*c->QueryValue("select 42"), "42");  // held, then released by the lapse
  EXPECT_EQ(h.Metric("pgshift_proxy_lease_lapses_total"), 1);
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/orders/renew", R"({"lease_ms":300})").status, 409);
}

TEST(ProxyCutover, ResumeRacingAPauseDoesNotWedge) {
  ProxyHarness h;
  auto busy = h.Connect();
  ASSERT_TRUE(busy.ok());
  ASSERT_TRUE(busy->Exec("begin").ok());
  auto pause = std::async(std::launch::async, [&] {
    return h.Admin("POST", "/v1/clusters/orders/pause",
                   R"({"deadline_ms":30000,"lease_ms":30000})");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  auto r = pause.get();  // returns at once instead of waiting out its deadline
  EXPECT_EQ(r.status, 409) << r.body;
  ASSERT_TRUE(busy->Exec("commit").ok());
  auto other = h.Connect();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other->QueryValue("select 1"), "1");
}

TEST(ProxyAdmin, RequiresTheTokenAndServesMetricsAndSessions) {
  ProxyHarness h;
  auto c = h.Connect();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(h.Admin("GET", "/healthz", "", "").status, 200);
  EXPECT_EQ(h.Admin("GET", "/v1/sessions", "", "").status, 401);
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/orders/pause", "{}", "wrong").status, 401);
  auto sessions = json::parse(h.Admin("GET", "/v1/sessions").body);
  ASSERT_EQ(sessions["sessions"].size(), 1u);
  EXPECT_EQ(sessions["sessions"][0]["identity"], "svc-orders");
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/nope/pause", "{}").status, 404);
  EXPECT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", R"({"host":"127.0.0.1"})").status, 400);
  std::string metrics = h.Admin("GET", "/metrics").body;
  EXPECT_NE(metrics.find("# TYPE pgshift_proxy_sessions_active gauge"), std::string::npos);
  for (const std::string& body :
       {h.Admin("GET", "/metrics").body, h.Admin("GET", "/v1/sessions").body,
        h.Admin("GET", "/v1/routes").body}) {
    EXPECT_EQ(body.find(kAppPassword), std::string::npos);
    EXPECT_EQ(body.find(kAdminToken), std::string::npos);
  }
}

}  // namespace
}  // namespace pgshift::testing

namespace pgshift::testing {
namespace {

// The cutover's fence terminates every client backend on the source, the proxy's included.
// A session that is idle and held by a pause must not see that: it logs in again on resume.
TEST(ProxyCutover, IdleSessionWhoseBackendTheFenceTerminatesIsCarriedOver) {
  ProxyHarness h;
  auto target = TargetWithRow("on target");
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->Exec("SET application_name = 'Fenced-Session'").ok());

  auto paused = h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause);
  ASSERT_EQ(paused.status, 200) << paused.body;
  h.primary->Sql("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'app'");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the termination arrives
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target->port(), 9)).status,
            200);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);

  auto note = c->QueryValue("select note from items where id = 1");
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(*note, "on target");
  EXPECT_EQ(*c->QueryValue("select current_setting('application_name')"), "Fenced-Session");
}

// The role a session runs as is read from its old server at the switch and set again on the
// new one, however it was set: set_config('role', ...), SET SESSION ROLE with a comment for a
// space, or inside a function whose call names no role; a quoted name survives the quoting.
TEST(ProxyCutover, SessionKeepsItsRoleThroughASwitchHoweverItWasSet) {
  ProxyHarness h;
  auto target = TargetWithRow("on target");
  for (const PgCluster* server : {h.primary.get(), target.get()}) {
    server->Sql(
        "CREATE ROLE tenant_a NOLOGIN; GRANT tenant_a TO app; "
        "CREATE ROLE \"Tenant \"\"B\"\"\" NOLOGIN; GRANT \"Tenant \"\"B\"\"\" TO app");
  }
  h.primary->Sql(
      "CREATE FUNCTION become_tenant() RETURNS void LANGUAGE sql AS "
      "$$ SELECT set_config('ro' || 'le', 'tenant_a', false) $$",
      "appdb");
  auto by_set_config = h.Connect();
  auto by_set_session = h.Connect();
  auto by_function = h.Connect();
  auto plain = h.Connect();
  for (auto* c : {&by_set_config, &by_set_session, &by_function, &plain}) {
    ASSERT_TRUE(c->ok()) << c->status().ToString();
  }
  ASSERT_TRUE(by_set_config->Exec("SELECT set_config('role', 'tenant_a', false)").ok());
  ASSERT_TRUE(by_set_session->Exec("SET/**/SESSION ROLE \"Tenant \"\"B\"\"\"").ok());
  ASSERT_TRUE(by_function->Exec("SELECT become_tenant()").ok());
  ASSERT_EQ(*by_function->QueryValue("SELECT current_user"), "tenant_a");

  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause).status, 200);
  auto sw = h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target->port(), 7));
  ASSERT_EQ(sw.status, 200) << sw.body;
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  auto value = [&](PgConnection& c, const std::string& sql) {
    auto v = c.QueryValue(sql);
    return v.ok() ? *v : "error: " + v.status().ToString();
  };
  const char* where = "SELECT current_user || ' on ' || inet_server_port()";
  std::string port = std::to_string(target->port());
  EXPECT_EQ(value(*by_set_config, where), "tenant_a on " + port);
  EXPECT_EQ(value(*by_set_session, where), "Tenant \"B\" on " + port);
  EXPECT_EQ(value(*by_function, where), "tenant_a on " + port);
  EXPECT_EQ(value(*plain, where), "app on " + port);
  EXPECT_EQ(value(*by_set_config, "SELECT session_user"), "app");
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_moved_total"), 4);
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_ended_on_switch_total"), 0);
}

// A session whose old backend the server ended cannot be asked for its role: if its SQL named
// one, it is ended with 57P01 rather than carried as the login role.
TEST(ProxyCutover, SessionWhoseRoleCannotBeReadIsEndedNotCarriedAsTheLoginRole) {
  ProxyHarness h;
  auto target = TargetWithRow("on target");
  for (const PgCluster* server : {h.primary.get(), target.get()}) {
    server->Sql("CREATE ROLE tenant_a NOLOGIN; GRANT tenant_a TO app");
  }
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->Exec("SELECT set_config('role', 'tenant_a', false)").ok());
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/pause", kHoldingPause).status, 200);
  h.primary->Sql("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'app'");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the termination arrives
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(target->port(), 9)).status,
            200);
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);
  PQsetErrorVerbosity(c->raw(), PQERRORS_VERBOSE);
  PGresult* r = PQexec(c->raw(), "SELECT current_user");
  EXPECT_NE(PQresultStatus(r), PGRES_TUPLES_OK)
      << "carried as " << (PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "?");
  PQclear(r);
  std::string error = PQerrorMessage(c->raw());
  EXPECT_NE(error.find("FATAL:  57P01"), std::string::npos) << error;
  EXPECT_NE(error.find("role set with SET ROLE or set_config('role', ...)"), std::string::npos)
      << error;
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_ended_on_switch_total"), 1);
}

// Without a pause, a terminated backend is the client's business: it is told, as before.
TEST(ProxyCutover, BackendTerminatedOutsideAPauseIsReportedToTheClient) {
  ProxyHarness h;
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  h.primary->Sql("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'app'");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(c->QueryValue("select 1").ok());
}

}  // namespace
}  // namespace pgshift::testing
