// Metric series: samples within the last hour come back oldest first; a series holds at most
// its ring's points however many samples arrive; WAL rates derive from successive positions;
// the latest lag is offered only while fresh; the number of migrations kept is bounded.
#include "server/metric_series.h"

#include <gtest/gtest.h>

namespace pgshift::server {
namespace {

TEST(MetricSeries, KeepsTheLastHourOldestFirst) {
  MetricSeries series;
  for (int i = 0; i <= 7200; i += 5) series.RecordLag("m", 1000 + i, i);
  nlohmann::json j = series.ToJson("m", 1000 + 7200);
  ASSERT_FALSE(j["lag_bytes"].empty());
  EXPECT_GE(j["lag_bytes"].front()[0].get<double>(), 1000 + 7200 - 3600);
  EXPECT_EQ(j["lag_bytes"].back()[0].get<double>(), 1000 + 7200);
  EXPECT_EQ(j["lag_bytes"].back()[1].get<double>(), 7200);
  EXPECT_LE(j["lag_bytes"].size(), 721u);
  double prev = 0;
  for (const auto& p : j["lag_bytes"]) {
    EXPECT_GT(p[0].get<double>(), prev);
    prev = p[0].get<double>();
  }
  EXPECT_TRUE(series.ToJson("unknown", 0)["lag_bytes"].empty());
}

TEST(MetricSeries, MemoryIsBoundedUnderFrequentSamples) {
  MetricSeries series({.span_s = 3600, .points = 60, .max_migrations = 3});
  for (int i = 0; i < 100000; ++i) series.RecordLag("m", 1000 + i * 0.01, i);
  nlohmann::json j = series.ToJson("m", 2000);
  EXPECT_LE(j["lag_bytes"].size(), 60u);
  EXPECT_EQ(j["lag_bytes"].back()[1].get<double>(), 99999);  // the newest is always kept
  for (int m = 0; m < 10; ++m) series.RecordLag("m" + std::to_string(m), 3000 + m, 1);
  EXPECT_EQ(series.migrations(), 3u);
  EXPECT_FALSE(series.ToJson("m9", 3010)["lag_bytes"].empty());
  EXPECT_TRUE(series.ToJson("m0", 3010)["lag_bytes"].empty());
}

TEST(MetricSeries, WalRateFromSuccessivePositions) {
  MetricSeries series;
  series.RecordWalPosition("m", 100, 1000);
  series.RecordWalPosition("m", 110, 21000);
  series.RecordWalPosition("m", 120, 500);  // went back (a new timeline): no rate
  series.RecordWalPosition("m", 130, 10500);
  nlohmann::json wal = series.ToJson("m", 130)["wal_bytes_per_s"];
  ASSERT_EQ(wal.size(), 2u);
  EXPECT_DOUBLE_EQ(wal[0][1].get<double>(), 2000);
  EXPECT_DOUBLE_EQ(wal[1][1].get<double>(), 1000);
}

TEST(MetricSeries, LatestLagOnlyWhileFresh) {
  MetricSeries series;
  EXPECT_FALSE(series.LatestLag("m", 100, 30).has_value());
  series.RecordLag("m", 100, 4096);
  EXPECT_EQ(series.LatestLag("m", 120, 30), 4096u);
  EXPECT_FALSE(series.LatestLag("m", 131, 30).has_value());
  series.Forget("m");
  EXPECT_FALSE(series.LatestLag("m", 100, 30).has_value());
}

}  // namespace
}  // namespace pgshift::server
