// Per-session limits through a real proxy: a session whose carried state (named prepared
// statements, session SETs) passes its cap is ended with 54000 naming the limit, and counted.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

struct Prepared {
  bool ok = false;
  std::string message;  // the connection's error text, with SQLSTATEs (verbose)
};

// What psql would print: the connection's error text holds the proxy's FATAL message (the
// result itself may be the connection loss that follows it).
Prepared RunCall(PgConnection& c, const std::function<PGresult*(PGconn*)>& call) {
  PQsetErrorVerbosity(c.raw(), PQERRORS_VERBOSE);
  PGresult* r = call(c.raw());
  Prepared out;
  out.ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  out.message = PQerrorMessage(c.raw());
  PQclear(r);
  return out;
}

Prepared Prepare(PgConnection& c, const std::string& name, const std::string& sql) {
  return RunCall(
      c, [&](PGconn* conn) { return PQprepare(conn, name.c_str(), sql.c_str(), 0, nullptr); });
}

TEST(ProxySessionLimits, SessionPastTheNamedStatementCapIsEndedWith54000) {
  ProxyHarness h;
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // Statements the server refuses are not kept, so they do not count.
  for (int i = 0; i < 50; ++i) ASSERT_FALSE(Prepare(*c, "bad" + std::to_string(i), "selec 1").ok);
  for (int i = 0; i < 1000; ++i) {
    Prepared p = Prepare(*c, "q" + std::to_string(i), "select " + std::to_string(i));
    ASSERT_TRUE(p.ok) << i << ": " << p.message;
  }
  Prepared over = Prepare(*c, "q1000", "select 1000");
  EXPECT_FALSE(over.ok);
  EXPECT_NE(over.message.find("FATAL:  54000"), std::string::npos) << over.message;
  EXPECT_NE(over.message.find("more than 1000 named statements"), std::string::npos)
      << over.message;
  EXPECT_NE(PQstatus(c->raw()), CONNECTION_OK);
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_over_limit_total"), 1);
}

TEST(ProxySessionLimits, SessionPastTheStatementTextCapIsEndedWith54000) {
  ProxyHarness h;
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string body(60 * 1024, 'x');
  Prepared last;
  int kept = 0;
  for (; kept < 200; ++kept) {
    last = Prepare(*c, "big" + std::to_string(kept), "select '" + body + "'");
    if (!last.ok) break;
  }
  // 4 MiB of 60 KiB statements: the 69th is over.
  EXPECT_EQ(kept, 68);
  EXPECT_NE(last.message.find("FATAL:  54000"), std::string::npos) << last.message;
  EXPECT_NE(last.message.find("4096 KiB of statement text"), std::string::npos) << last.message;
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_over_limit_total"), 1);
}

TEST(ProxySessionLimits, SessionPastTheSetCapIsEndedButRepeatedSetsAreNotCounted) {
  ProxyHarness h;
  auto c = h.Connect();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(c->Exec("SET application_name = 'a" + std::to_string(i) + "'").ok());
  }
  for (int i = 0; i < 255; ++i) {
    auto st = c->Exec("SET app.p" + std::to_string(i) + " = '1'");
    ASSERT_TRUE(st.ok()) << i << ": " << st.ToString();
  }
  Prepared over = RunCall(*c, [](PGconn* conn) { return PQexec(conn, "SET app.p255 = '1'"); });
  ASSERT_FALSE(over.ok);
  EXPECT_NE(over.message.find("FATAL:  54000"), std::string::npos) << over.message;
  EXPECT_NE(over.message.find("more than 256 parameters"), std::string::npos) << over.message;
  EXPECT_EQ(h.Metric("pgshift_proxy_sessions_over_limit_total"), 1);
}

}  // namespace
}  // namespace pgshift::testing
