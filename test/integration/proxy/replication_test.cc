// Logical replication through the proxy: a real pg_recvlogical streams a test_decoding slot
// over mutual TLS (as svc-orders, which the harness gives `replication = on`); a pause does
// not wait for it; a switch leaves it on the old server until
// that server ends it, and its retry is routed to the new primary. Physical replication and
// unauthorised identities are refused clearly.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/process.h"
#include "platform/local_instance.h"
#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls `done` every 50 ms for up to `limit`.
template <typename F>
bool Eventually(F done, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

bool SlotActive(const PgCluster& pg) {
  return pg.Value("select count(*) from pg_replication_slots where slot_name = 'cdc' and active") ==
         "1";
}

// The refusal libpq reports for a replication connection with `conninfo`.
std::string ConnectError(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string err = PQstatus(c) == CONNECTION_OK ? "" : PQerrorMessage(c);
  PQfinish(c);
  return err;
}

TEST(ProxyReplication, LogicalStreamIsNotHeldByAPauseAndFollowsTheSwitchOnlyWhenItsServerEndsIt) {
  ProxyHarness h;
  h.primary->Sql("ALTER ROLE app REPLICATION");
  auto target = PgCluster::ReplicaOf(*h.primary);  // promoted below: the cutover's target
  h.primary->Sql("select pg_create_logical_replication_slot('cdc', 'test_decoding')", "appdb");

  proxy::ClientCert cert = h.pki.Client("svc-orders");
  std::string out = h.dir.path() + "/cdc.out", log = h.dir.path() + "/cdc.log";
  auto consumer = ChildProcess::Start(
      {LocalInstance::BinDir() + "/pg_recvlogical", "--start", "-S", "cdc", "-f", out, "-F", "1",
       "-v", "-d",
       "host=127.0.0.1 port=" + std::to_string(h.proxy->port()) + " dbname=orders user=app"},
      ProcessOptions{.env = {{"PGSSLMODE", "verify-full"},
                             {"PGSSLROOTCERT", h.pki.ca_cert()},
                             {"PGSSLCERT", cert.cert},
                             {"PGSSLKEY", cert.key}},
                     .stdout_path = log});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  ASSERT_TRUE(Eventually([&] { return SlotActive(*h.primary); }, std::chrono::seconds(10)))
      << ReadFile(log);
  EXPECT_EQ(h.Metric("pgshift_proxy_replication_sessions_active"), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_replication_sessions_opened_total"), 1);
  auto sessions = json::parse(h.Admin("GET", "/v1/sessions").body)["sessions"];
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["replication"], true);

  h.primary->Sql("insert into items values (1, 'before the pause')", "appdb");
  ASSERT_TRUE(
      Eventually([&] { return ReadFile(out).find("before the pause") != std::string::npos; },
                 std::chrono::seconds(10)))
      << ReadFile(log);

  // The walsender is streaming, never between transactions: a pause must not wait for it.
  auto paused =
      h.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":3000,"lease_ms":30000})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(json::parse(paused.body)["paused"], true) << paused.body;

  h.primary->WaitReplayed(*target);
  ASSERT_TRUE(target->instance().Promote().ok());
  ASSERT_TRUE(Eventually([&] { return target->Value("select pg_is_in_recovery()") == "f"; },
                         std::chrono::seconds(20)));
  target->Sql("select pg_create_logical_replication_slot('cdc', 'test_decoding')", "appdb");
  auto sw = h.Admin("POST", "/v1/clusters/orders/switch",
                    json{{"host", "127.0.0.1"}, {"port", target->port()}, {"version", 2}}.dump());
  ASSERT_EQ(sw.status, 200) << sw.body;
  EXPECT_EQ(json::parse(sw.body)["replication_staying"], 1) << sw.body;
  EXPECT_EQ(json::parse(sw.body)["pending"], 0) << sw.body;
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/resume").status, 200);

  // Not moved: the consumer keeps draining its slot on the old server (here a last change
  // written there stands for the tail before the CDC fence point).
  EXPECT_TRUE(SlotActive(*h.primary));
  EXPECT_FALSE(SlotActive(*target));
  h.primary->Sql("insert into items values (2, 'drained from the old slot')", "appdb");
  ASSERT_TRUE(Eventually(
      [&] { return ReadFile(out).find("drained from the old slot") != std::string::npos; },
      std::chrono::seconds(10)))
      << ReadFile(log);

  // The orchestrator ends the old walsender and drops the slot; the consumer is told, retries
  // (every 5 s) and lands on the new primary through the current route.
  h.primary->Sql(
      "select pg_terminate_backend(active_pid) from pg_replication_slots "
      "where slot_name = 'cdc'");
  ASSERT_TRUE(Eventually(
      [&] {
        return h.primary->Value("select count(*) from pg_replication_slots where active") == "0";
      },
      std::chrono::seconds(10)));
  h.primary->Sql("select pg_drop_replication_slot('cdc')");
  ASSERT_TRUE(Eventually([&] { return SlotActive(*target); }, std::chrono::seconds(15)))
      << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("administrator command"), std::string::npos) << ReadFile(log);
  target->Sql("insert into items values (3, 'on the new primary')", "appdb");
  ASSERT_TRUE(
      Eventually([&] { return ReadFile(out).find("on the new primary") != std::string::npos; },
                 std::chrono::seconds(10)))
      << ReadFile(log);
  EXPECT_TRUE(consumer->Running());
  EXPECT_EQ(h.Metric("pgshift_proxy_replication_sessions_opened_total"), 2);
  EXPECT_EQ(h.Metric("pgshift_proxy_replication_sessions_active"), 1);
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_moved_total"), 0);
}

TEST(ProxyReplication, RefusesPhysicalReplicationAndUnauthorisedIdentities) {
  ProxyHarness h;
  h.primary->Sql("ALTER ROLE app REPLICATION");
  proxy::ClientCert orders = h.pki.Client("svc-orders"), other = h.pki.Client("svc-other");
  std::string physical = ConnectError(h.ConnString(&orders) + " replication=true");
  EXPECT_NE(physical.find("physical replication connections are not served by the proxy"),
            std::string::npos)
      << physical;
  std::string bogus = ConnectError(h.ConnString(&orders) + " replication=sometimes");
  EXPECT_NE(bogus.find("invalid value for parameter \"replication\""), std::string::npos) << bogus;
  std::string denied = ConnectError(h.ConnString(&other) + " replication=database");
  EXPECT_NE(denied.find("may not connect to database \"orders\""), std::string::npos) << denied;
  // Allowed on the database but without `replication = on`.
  proxy::ClientCert billing = h.pki.Client("x", "spiffe://example.org/billing");
  std::string no_right = ConnectError(h.ConnString(&billing) + " replication=database");
  EXPECT_NE(no_right.find("may not open replication connections"), std::string::npos) << no_right;
  for (const std::string& m : {physical, bogus, denied, no_right}) {
    EXPECT_EQ(m.find(std::to_string(h.primary->port())), std::string::npos) << m;
  }
  // replication=false is an ordinary session.
  EXPECT_EQ(ConnectError(h.ConnString(&orders) + " replication=false"), "");
  EXPECT_EQ(ConnectError(h.ConnString(&orders) + " replication=database"), "");
  EXPECT_EQ(h.Metric("pgshift_proxy_replication_sessions_opened_total"), 1);
}

}  // namespace
}  // namespace pgshift::testing
