// Child processes get the password through their environment, never through argv.
#include <gtest/gtest.h>

#include "demo/endpoint.h"

namespace pgshift::demo {
namespace {

TEST(ChildConnection, PasswordGoesToTheEnvironmentOnly) {
  auto ci =
      ConnInfo::Parse("host=127.0.0.1 port=5433 user=app password=s3cret-pw dbname=shop", "source")
          .value();
  ChildConnection c = ForChildProcess(ci);
  EXPECT_EQ(c.conninfo.find("s3cret-pw"), std::string::npos) << c.conninfo;
  EXPECT_NE(c.conninfo.find("port='5433'"), std::string::npos) << c.conninfo;
  EXPECT_NE(c.conninfo.find("dbname='shop'"), std::string::npos) << c.conninfo;
  EXPECT_EQ(c.env.at("PGPASSWORD"), "s3cret-pw");
  auto reparsed = ConnInfo::Parse(c.conninfo, "check");
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  EXPECT_EQ(reparsed->Get("user"), "app");
}

TEST(ChildConnection, NoPasswordNoVariable) {
  auto ci = ConnInfo::Parse("host=127.0.0.1 port=5433", "source").value();
  EXPECT_TRUE(ForChildProcess(ci).env.empty());
}

}  // namespace
}  // namespace pgshift::demo
