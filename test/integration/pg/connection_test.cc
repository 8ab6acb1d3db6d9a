// Connections to a real server: what works, and what each kind of failure says.
#include "pg/connection.h"

#include <gtest/gtest.h>

#include "fixture/pg_cluster.h"
#include "platform/port_reservation.h"

namespace pgshift {
namespace {

using testing::PgCluster;

TEST(PgConnection, QueriesARealServer) {
  auto pg = PgCluster::Primary();
  PgConnection c = pg->Connect();
  EXPECT_EQ(*c.QueryValue("SELECT $1::int + 1", {"41"}), "42");
  EXPECT_GE(c.ServerVersionNum(), 150000);
}

TEST(PgConnection, WrongPasswordIsUnauthenticatedAndDoesNotLeakIt) {
  auto pg = PgCluster::Primary();
  auto c = PgConnection::Connect(pg->Conn().With("password", "not-the-password-xyz"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnauthenticated) << c.status().ToString();
  EXPECT_EQ(c.status().message().find("not-the-password-xyz"), std::string::npos);
  EXPECT_NE(c.status().message().find("local:"), std::string::npos);
}

TEST(PgConnection, UnreachableHostIsUnavailable) {
  auto port = ReservePort();
  ASSERT_TRUE(port.ok());
  auto ci = ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(*port), "source").value();
  auto c = PgConnection::Connect(ci);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  EXPECT_NE(c.status().message().find("source (127.0.0.1:"), std::string::npos);
}

TEST(ConnInfo, MalformedIsInvalidArgumentNamingTheEndpoint) {
  auto ci = ConnInfo::Parse("host=127.0.0.1 port", "target");
  ASSERT_FALSE(ci.ok());
  EXPECT_EQ(ci.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ci.status().message().rfind("target: malformed", 0), 0u);
}

}  // namespace
}  // namespace pgshift
