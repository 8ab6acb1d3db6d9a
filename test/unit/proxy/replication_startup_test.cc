// ReplicationModeOf: the `replication` startup parameter read as PostgreSQL reads it.
#include "proxy/replication_startup.h"

#include <gtest/gtest.h>

namespace pgshift::proxy {
namespace {

Result<ReplicationMode> Of(const std::string& value) {
  return ReplicationModeOf({{"user", "app"}, {"replication", value}});
}

TEST(ReplicationStartup, DatabaseIsLogicalAndBooleansArePhysicalOrNone) {
  EXPECT_EQ(*ReplicationModeOf({{"user", "app"}}), ReplicationMode::kNone);
  EXPECT_EQ(*Of("database"), ReplicationMode::kLogical);
  for (const char* on : {"true", "TRUE", "t", "yes", "y", "on", "1"}) {
    EXPECT_EQ(*Of(on), ReplicationMode::kPhysical) << on;
  }
  for (const char* off : {"false", "f", "no", "off", "OFF", "0"}) {
    EXPECT_EQ(*Of(off), ReplicationMode::kNone) << off;
  }
}

TEST(ReplicationStartup, RefusesWhatPostgresRefuses) {
  for (const char* bad : {"", "o", "Database", "2", "truth", "sometimes"}) {
    auto m = Of(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(ReplicationRefusal(ReplicationMode::kLogical), "");
  EXPECT_NE(ReplicationRefusal(ReplicationMode::kPhysical).find("physical"), std::string::npos);
}

}  // namespace
}  // namespace pgshift::proxy
