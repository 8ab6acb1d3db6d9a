// The list endpoints with 1000 migrations (and 1000 clusters) in the store: answered over HTTP
// by a real server in well under a second each. Prints the measured latencies (median and
// worst of 20) so that docs can quote them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "server_test_env.h"
#include "store/sqlite_store.h"

namespace pgshift::testing {
namespace {

TEST(ServerScale, ListEndpointsWithAThousandMigrations) {
  ServerTestEnv env;
  {
    auto store = SqliteStore::Open(env.store_path());
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 1000; ++i) {
      const std::string n = std::to_string(i);
      const std::string team = i % 2 ? "payments" : "search";
      ClusterRecord c;
      c.name = "c" + n;
      c.team = team;
      c.registration = {{"source", {{"conninfo", "host=127.0.0.1 port=5432"}}},
                        {"target", {{"kind", "local"}, {"dir", "/srv/c" + n}}}};
      ASSERT_TRUE((*store)->CreateCluster(c, 1).ok());
      MigrationRecord r;
      r.name = "m" + n;
      r.phase = static_cast<Phase>(1 + i % 15);
      r.spec = {{"name", r.name},
                {"source", "host=127.0.0.1 port=5432"},
                {"target", "host=127.0.0.1 port=5433"},
                {"platform", "local"}};
      ASSERT_TRUE((*store)->Create(r, 1 + i).ok());
      ASSERT_TRUE((*store)->MergeControl(r.name, {{"cluster", c.name}, {"team", team}}, 1).ok());
    }
  }
  env.StartServer();
  auto measure = [&](const std::string& path, const std::string& token, size_t want,
                     const char* key) {
    std::vector<double> ms;
    for (int i = 0; i < 20; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = env.server().Get(path, token);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      ASSERT_EQ(r.status, 200);
      if (i == 0) {
        EXPECT_EQ(ServerProcess::Json(r)[key].size(), want) << path;
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("[ latency ] GET %s as %s: median %.1f ms, worst %.1f ms (20 requests)\n",
                path.c_str(), token == env.platform_token ? "platform" : "a team", ms[10],
                ms.back());
    EXPECT_LT(ms[10], 1000.0) << path;
  };
  measure("/v1/migrations", env.platform_token, 1000, "migrations");
  measure("/v1/migrations", env.payments_token, 500, "migrations");
  measure("/v1/migrations?phase=validating", env.platform_token, 67, "migrations");
  measure("/v1/clusters", env.platform_token, 1000, "clusters");
  measure("/v1/clusters?team=search", env.search_token, 500, "clusters");
}

}  // namespace
}  // namespace pgshift::testing
