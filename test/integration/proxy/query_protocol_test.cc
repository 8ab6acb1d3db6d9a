// Queries through the proxy: simple and extended protocol, COPY both ways, cancel.
#include <gtest/gtest.h>

#include <thread>

#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

TEST(ProxyQueries, SimpleExtendedAndPreparedStatements) {
  ProxyHarness h;
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->Exec("insert into items values (1, 'one'), (2, 'two')").ok());
  EXPECT_EQ(*c->QueryValue("select note from items where id = $1", {"2"}), "two");  // extended
  PGresult* p = PQprepare(c->raw(), "by_id", "select note from items where id = $1", 1, nullptr);
  ASSERT_EQ(PQresultStatus(p), PGRES_COMMAND_OK) << PQerrorMessage(c->raw());
  PQclear(p);
  const char* v[] = {"1"};
  PGresult* r = PQexecPrepared(c->raw(), "by_id", 1, v, nullptr, nullptr, 0);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_STREQ(PQgetvalue(r, 0, 0), "one");
  PQclear(r);
  // Errors pass through and the session stays usable.
  EXPECT_FALSE(c->Exec("select * from no_such_table").ok());
  ASSERT_TRUE(c->Exec("begin").ok());
  EXPECT_EQ(PQtransactionStatus(c->raw()), PQTRANS_INTRANS);
  ASSERT_TRUE(c->Exec("commit").ok());
  EXPECT_EQ(*c->QueryValue("select count(*) from items"), "2");
  EXPECT_GE(h.Metric("pgshift_proxy_queries_total"), 6);
  EXPECT_GE(h.Metric("pgshift_proxy_transactions_total"), 1);
}

// Several megabytes each way: many buffer-fulls, so partial sends and back-pressure.
static void CopyInAndOut(ProxyHarness& h) {
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  PGresult* r = PQexec(c->raw(), "copy items from stdin");
  ASSERT_EQ(PQresultStatus(r), PGRES_COPY_IN);
  PQclear(r);
  const int rows = 50000;
  std::string note(100, 'n');
  for (int i = 0; i < rows; ++i) {
    std::string line = std::to_string(i) + "\t" + note + "\n";
    ASSERT_EQ(PQputCopyData(c->raw(), line.data(), int(line.size())), 1);
  }
  ASSERT_EQ(PQputCopyEnd(c->raw(), nullptr), 1);
  r = PQgetResult(c->raw());
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c->raw());
  PQclear(r);
  while ((r = PQgetResult(c->raw()))) PQclear(r);
  EXPECT_EQ(*c->QueryValue("select count(*) from items"), std::to_string(rows));

  r = PQexec(c->raw(), "copy (select id, note from items order by id) to stdout");
  ASSERT_EQ(PQresultStatus(r), PGRES_COPY_OUT);
  PQclear(r);
  size_t bytes = 0, lines = 0;
  char* buf = nullptr;
  int n;
  while ((n = PQgetCopyData(c->raw(), &buf, 0)) > 0) {
    bytes += size_t(n);
    ++lines;
    PQfreemem(buf);
  }
  ASSERT_EQ(n, -1);
  r = PQgetResult(c->raw());
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  EXPECT_EQ(lines, size_t(rows));
  EXPECT_GT(bytes, size_t(rows) * 100);
}

TEST(ProxyQueries, CopyInAndOutOfSeveralMegabytes) {
  ProxyHarness h;
  CopyInAndOut(h);
}

// Plain client sockets: both directions' sends go through the io_uring batch.
TEST(ProxyQueries, CopyInAndOutOverIoUring) {
  ProxyHarness h{HarnessOptions{.client_tls = false, .io_engine = "io_uring"}};
  CopyInAndOut(h);
}

// A client that does not read while 20 MB of results come: the proxy's sends to it fail with
// EAGAIN, the backend is held back, and everything arrives once the client reads.
TEST(ProxyQueries, SlowReaderOverIoUringGetsEverything) {
  ProxyHarness h{HarnessOptions{.client_tls = false, .io_engine = "io_uring"}};
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(PQsendQuery(c->raw(),
                        "select sum(length(x)) over (), x from (select repeat('y', 1000) as x "
                        "from generate_series(1, 20000)) s"),
            1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  PGresult* r = PQgetResult(c->raw());
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c->raw());
  EXPECT_EQ(PQntuples(r), 20000);
  EXPECT_STREQ(PQgetvalue(r, 19999, 0), "20000000");
  PQclear(r);
  while ((r = PQgetResult(c->raw()))) PQclear(r);
  EXPECT_EQ(*c->QueryValue("select 1"), "1");
}

TEST(ProxyQueries, CancelReachesTheRightBackend) {
  ProxyHarness h;
  auto c = h.Connect();
  auto bystander = h.Connect();
  ASSERT_TRUE(c.ok() && bystander.ok());
  ASSERT_EQ(PQsendQuery(c->raw(), "select pg_sleep(60)"), 1);
  // Wait until the sleep is running on the backend.
  for (int i = 0; i < 500; ++i) {
    if (h.primary->Value(
            "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' "
            "and state = 'active'") == "1") {
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
  EXPECT_EQ(*c->QueryValue("select 1"), "1");
  EXPECT_EQ(*bystander->QueryValue("select 2"), "2");
  EXPECT_EQ(h.Metric("pgshift_proxy_cancels_total"), 1);
}

}  // namespace
}  // namespace pgshift::testing
