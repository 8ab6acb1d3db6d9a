// CarriedState: what a switch replays, and what pins a session.
#include "proxy/carried_state.h"

#include <gtest/gtest.h>

#include "proxy/wire_format.h"

namespace pgshift::proxy {
namespace {

std::string Parse(const std::string& name, const std::string& sql) {
  std::string body = name + std::string(1, '\0') + sql + std::string(1, '\0');
  wire::AppendU16(body, 0);
  return wire::Message('P', body);
}

TEST(CarriedState, RemembersSessionSetsButNotLocalOnes) {
  CarriedState s;
  s.OnQuery(wire::Query("SET application_name = 'Billing'"));
  s.OnQuery(wire::Query("set local work_mem = '1MB'"));
  s.OnQuery(wire::Query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"));
  s.OnQuery(wire::Query("select * from t offset 3"));
  ASSERT_EQ(s.SetStatements().size(), 1u);
  EXPECT_EQ(s.SetStatements()[0], "SET application_name = 'Billing'");  // case kept
  s.OnQuery(wire::Query("RESET ALL"));
  EXPECT_TRUE(s.SetStatements().empty());
  EXPECT_FALSE(s.pinned());
}

// Transaction-scoped parameters end with their transaction, and a switch happens between
// transactions; replayed on a target still in recovery, `transaction_read_only = off` fails.
TEST(CarriedState, TransactionScopedSettingsAreNotCarriedInAnySpelling) {
  CarriedState s;
  s.OnQuery(wire::Query("SET transaction_read_only = off"));
  s.OnQuery(wire::Query("set session transaction_isolation = 'serializable'"));
  s.OnQuery(wire::Query("SET LOCAL transaction_read_only = on"));
  s.OnQuery(wire::Query("SET SESSION statement_timeout = '5s'"));
  s.OnQuery(wire::Query("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"));
  EXPECT_EQ(s.SetStatements(),
            (std::vector<std::string>{"SET SESSION statement_timeout = '5s'",
                                      "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"}));
}

// pg_settings does not list custom parameters, so the switch asks for them by these names.
TEST(CarriedState, NotesTheCustomParametersASessionSets) {
  CarriedState s;
  s.OnQuery(wire::Query("SELECT set_config( 'App.Tenant', 'acme', false)"));
  s.OnQuery(wire::Query("SET SESSION myapp.user_id = 42"));
  s.OnQuery(wire::Query("SET work_mem = '8MB'"));  // listed by pg_settings: no name needed
  s.OnParse(Parse("q", "select set_config('rls.role', $1, true)"));
  s.OnQuery(wire::Query("select set_config($1, 'x', false)"));  // unknowable: left out
  EXPECT_EQ(s.CustomSettingNames(),
            (std::set<std::string>{"app.tenant", "myapp.user_id", "rls.role"}));
}

TEST(CarriedState, RemembersNamedPreparedStatementsUntilClosed) {
  CarriedState s;
  s.OnParse(Parse("q1", "select $1::int"));
  s.OnParse(Parse("", "select 2"));
  s.OnParse(Parse("q2", "select 3"));
  for (int i = 0; i < 3; ++i) s.OnParseComplete();
  s.OnReadyForQuery();
  EXPECT_EQ(s.prepared_count(), 2u);
  std::string close_body = "Sq1";
  close_body.push_back('\0');
  s.OnClose(wire::Message('C', close_body));
  ASSERT_EQ(s.ParseMessages().size(), 1u);
  EXPECT_EQ(s.ParseMessages()[0], Parse("q2", "select 3"));
}

TEST(CarriedState, PinsSessionsWithStateItCannotCarry) {
  for (const char* sql : {"CREATE TEMP TABLE x (a int)", "create temporary\n table y (a int)",
                          "select pg_advisory_lock(1)", "LISTEN jobs",
                          "DECLARE c CURSOR WITH HOLD FOR select 1", "PREPARE p AS select 1"}) {
    CarriedState s;
    s.OnQuery(wire::Query(sql));
    EXPECT_TRUE(s.pinned()) << sql;
  }
  CarriedState plain;
  plain.OnQuery(wire::Query("select pg_advisory_xact_lock(1); select 1"));
  EXPECT_FALSE(plain.pinned());
}

// Only what the backend accepted is replayed: a Parse the server refused (and those it skipped
// after the error, up to the Sync) is forgotten at the ReadyForQuery.
TEST(CarriedState, KeepsOnlyParsesTheBackendAnswered) {
  CarriedState s;
  s.OnParse(Parse("good", "select 1"));
  s.OnParse(Parse("bad", "selec 2"));
  s.OnParse(Parse("skipped", "select 3"));
  s.OnParseComplete();  // "good"; then an ErrorResponse for "bad", "skipped" is not run
  EXPECT_EQ(s.prepared_count(), 1u);
  s.OnReadyForQuery();
  ASSERT_EQ(s.ParseMessages().size(), 1u);
  EXPECT_EQ(s.ParseMessages()[0], Parse("good", "select 1"));
  EXPECT_EQ(s.prepared_bytes(), Parse("good", "select 1").size());
  // A statement closed before its ParseComplete arrives is not kept either.
  s.OnParse(Parse("gone", "select 4"));
  std::string close_body = "Sgone";
  close_body.push_back('\0');
  s.OnClose(wire::Message('C', close_body));
  s.OnParseComplete();
  s.OnReadyForQuery();
  EXPECT_EQ(s.prepared_count(), 1u);
  EXPECT_FALSE(s.over_limit());
}

// A client may pipeline: the first ReadyForQuery must not forget Parses sent after its Sync.
TEST(CarriedState, PipelinedParsesAfterASyncSurviveTheEarlierReadyForQuery) {
  CarriedState s;
  s.OnParse(Parse("q1", "select 1"));
  s.OnSyncPoint();
  s.OnParse(Parse("q2", "selec 2"));  // refused
  s.OnSyncPoint();
  s.OnParse(Parse("q3", "select 3"));
  s.OnSyncPoint();
  s.OnParseComplete();  // q1
  s.OnReadyForQuery();
  s.OnReadyForQuery();  // q2's error, then its ReadyForQuery
  s.OnParseComplete();  // q3
  s.OnReadyForQuery();
  EXPECT_EQ(s.ParseMessages(),
            (std::vector<std::string>{Parse("q1", "select 1"), Parse("q3", "select 3")}));
}

// psycopg 3 evicts statements from its cache with DEALLOCATE: they must not count forever.
TEST(CarriedState, DeallocateForgetsStatementsLikeClose) {
  CarriedState s(CarriedStateLimits{.max_prepared = 2});
  for (int i = 0; i < 10; ++i) {
    std::string name = "_pg3_" + std::to_string(i);
    s.OnParse(Parse(name, "select 1"));
    s.OnParseComplete();
    s.OnQuery(wire::Query("DEALLOCATE " + name));
  }
  s.OnParse(Parse("Mixed\"Case", "select 1"));
  s.OnParseComplete();
  s.OnQuery(wire::Query("deallocate prepare \"Mixed\"\"Case\""));
  EXPECT_EQ(s.prepared_count(), 0u);
  s.OnParse(Parse("a", "select 1"));
  s.OnParse(Parse("b", "select 1"));
  s.OnParseComplete();
  s.OnParseComplete();
  s.OnQuery(wire::Query("DEALLOCATE ALL"));
  EXPECT_EQ(s.prepared_count(), 0u);
  EXPECT_EQ(s.prepared_bytes(), 0u);
  EXPECT_FALSE(s.over_limit());
}

TEST(CarriedState, EndsPastTheNamedStatementCap) {
  CarriedState s(CarriedStateLimits{.max_prepared = 3});
  for (int i = 0; i < 3; ++i) {
    s.OnParse(Parse("q" + std::to_string(i), "select 1"));
    s.OnParseComplete();
  }
  EXPECT_FALSE(s.over_limit());
  // Closing one makes room again.
  std::string close_body = "Sq0";
  close_body.push_back('\0');
  s.OnClose(wire::Message('C', close_body));
  s.OnParse(Parse("q3", "select 1"));
  s.OnParseComplete();
  EXPECT_FALSE(s.over_limit());
  // Statements being prepared count as well: a pipelined flood is caught before any answer.
  s.OnParse(Parse("q4", "select 1"));
  ASSERT_TRUE(s.over_limit());
  EXPECT_NE(s.limit_error().find("more than 3 named statements"), std::string::npos)
      << s.limit_error();
}

TEST(CarriedState, EndsPastTheStatementTextCap) {
  CarriedState s(CarriedStateLimits{.max_prepared_bytes = 200 * 1024});
  std::string body(60 * 1024, 'x');
  for (int i = 0; i < 3; ++i) {
    s.OnParse(Parse("big" + std::to_string(i), "select '" + body + "'"));
    s.OnParseComplete();
  }
  EXPECT_FALSE(s.over_limit());
  s.OnParse(Parse("big3", "select '" + body + "'"));
  ASSERT_TRUE(s.over_limit());
  EXPECT_NE(s.limit_error().find("200 KiB of statement text"), std::string::npos)
      << s.limit_error();
}

// The same parameter set again keeps one entry (the latest), so only many distinct
// parameters reach the cap.
TEST(CarriedState, KeepsTheLatestSetPerParameterAndCapsDistinctOnes) {
  CarriedState s(CarriedStateLimits{.max_sets = 4});
  for (int i = 0; i < 1000; ++i) {
    s.OnQuery(wire::Query("SET search_path = s" + std::to_string(i)));
  }
  s.OnQuery(wire::Query("SET work_mem = '8MB'"));
  s.OnQuery(wire::Query("RESET search_path"));
  EXPECT_EQ(s.SetStatements(),
            (std::vector<std::string>{"SET work_mem = '8MB'", "RESET search_path"}));
  EXPECT_FALSE(s.over_limit());
  for (int i = 0; i < 3; ++i) s.OnQuery(wire::Query("SET app.p" + std::to_string(i) + " = 1"));
  ASSERT_TRUE(s.over_limit());
  EXPECT_NE(s.limit_error().find("more than 4 parameters"), std::string::npos) << s.limit_error();
}

TEST(CarriedState, DefaultLimitsAreTheDocumentedOnes) {
  CarriedStateLimits limits;
  EXPECT_EQ(limits.max_prepared, 1000u);
  EXPECT_EQ(limits.max_prepared_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(limits.max_sets, 256u);
}

}  // namespace
}  // namespace pgshift::proxy
