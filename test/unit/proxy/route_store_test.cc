// RouteStore: versions only increase; readers keep the table they loaded.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fixture/temp_dir.h"
#include "proxy/route_table.h"

namespace pgshift::proxy {
namespace {

TEST(RouteStore, SwitchesOnlyToNewerVersions) {
  auto t = std::make_shared<RouteTable>();
  t->routes["orders"] = Endpoint{"127.0.0.1", 5432, BackendTls::kDisable, 0};
  RouteStore store(t);
  auto before = store.Get();
  auto r = store.Switch("orders", "127.0.0.1", 5433, 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store.Get()->routes.at("orders").port, 5433);
  EXPECT_EQ(store.Get()->version, 7u);
  EXPECT_EQ(before->routes.at("orders").port, 5432);  // an old reader's view is unchanged
  EXPECT_EQ(store.Switch("orders", "127.0.0.1", 5434, 7).status().code(), Code::kAborted);
  EXPECT_EQ(store.Switch("orders", "127.0.0.1", 5434, 3).status().code(), Code::kAborted);
  EXPECT_EQ(store.Switch("nope", "127.0.0.1", 5434, 9).status().code(), Code::kNotFound);
  EXPECT_EQ(store.Get()->routes.at("orders").port, 5433);
}

std::shared_ptr<RouteTable> ConfigRoutes() {
  auto t = std::make_shared<RouteTable>();
  t->routes["orders"] = Endpoint{"127.0.0.1", 5432, BackendTls::kRequire, 0};
  t->routes["billing"] = Endpoint{"127.0.0.1", 6000, BackendTls::kDisable, 0};
  return t;
}

// A second store on the same file (a restarted proxy) starts on the switched route, keeps the
// config's TLS mode, and refuses versions at or below the persisted one.
TEST(RouteStore, PersistedSwitchesSurviveARestart) {
  testing::TempDir dir;
  std::string path = dir.path() + "/proxy.ini.routes";
  {
    RouteStore store(ConfigRoutes());
    ASSERT_TRUE(store.Restore(path).ok());  // no file yet: the config's routes
    EXPECT_EQ(store.Get()->routes.at("orders").port, 5432);
    ASSERT_TRUE(store.Switch("orders", "10.0.0.2", 5433, 7).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  RouteStore restarted(ConfigRoutes());
  ASSERT_TRUE(restarted.Restore(path).ok());
  const Endpoint& e = restarted.Get()->routes.at("orders");
  EXPECT_EQ(e.host, "10.0.0.2");
  EXPECT_EQ(e.port, 5433);
  EXPECT_EQ(e.version, 7u);
  EXPECT_EQ(e.tls, BackendTls::kRequire);
  EXPECT_EQ(restarted.Get()->version, 7u);
  EXPECT_EQ(restarted.Get()->routes.at("billing").port, 6000);  // never switched
  EXPECT_EQ(restarted.Switch("orders", "127.0.0.1", 5432, 7).status().code(), Code::kAborted);
  EXPECT_EQ(restarted.Switch("orders", "127.0.0.1", 5432, 6).status().code(), Code::kAborted);
  EXPECT_TRUE(restarted.Switch("orders", "127.0.0.1", 5432, 8).ok());
}

TEST(RouteStore, AnUntrustworthyRouteFileIsRefusedByName) {
  testing::TempDir dir;
  std::string path = dir.path() + "/proxy.ini.routes";
  for (const std::string& bad :
       {std::string("{not json"), std::string(R"({"format":2,"routes":{}})"),
        std::string(R"({"format":1,"routes":{"orders":{"host":"h","port":0,"version":1}}})"),
        std::string(R"({"format":1,"routes":{"orders":{"host":"h","port":5,"version":-1}}})")}) {
    std::ofstream(path) << bad;
    RouteStore store(ConfigRoutes());
    Status st = store.Restore(path);
    EXPECT_EQ(st.code(), Code::kFailedPrecondition) << bad;
    EXPECT_NE(st.message().find("route file " + path), std::string::npos) << st.message();
    EXPECT_EQ(store.Get()->routes.at("orders").port, 5432);
  }
}

// A switch that cannot be written is not made: a restart would otherwise forget it.
TEST(RouteStore, ASwitchThatCannotBePersistedIsNotMade) {
  testing::TempDir dir;
  std::string path = dir.path() + "/gone/proxy.ini.routes";  // its folder does not exist
  RouteStore store(ConfigRoutes());
  ASSERT_TRUE(store.Restore(path).ok());
  auto r = store.Switch("orders", "127.0.0.1", 5433, 3);
  ASSERT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("not switched"), std::string::npos) << r.status().message();
  EXPECT_EQ(store.Get()->routes.at("orders").port, 5432);
  EXPECT_EQ(store.Get()->routes.at("orders").version, 0u);
}

// A switched route is unconfirmed until an explicit resume confirms it (Confirm); the state is
// kept in the route file, so a proxy restarted after a switch that was never resumed loads it
// unconfirmed (its sessions stay read-only on a fenced target), and one resumed loads it
// confirmed. A file of an older pgshift, without the field, loads unconfirmed.
TEST(RouteStore, ASwitchIsUnconfirmedUntilConfirmedAndThatIsPersisted) {
  testing::TempDir dir;
  std::string path = dir.path() + "/proxy.ini.routes";
  {
    RouteStore store(ConfigRoutes());
    ASSERT_TRUE(store.Restore(path).ok());
    EXPECT_TRUE(store.Get()->routes.at("orders").confirmed);  // the config's route
    EXPECT_EQ(store.Confirm("orders").value(), false);        // nothing to confirm
    ASSERT_TRUE(store.Switch("orders", "10.0.0.2", 5433, 7).ok());
    EXPECT_FALSE(store.Get()->routes.at("orders").confirmed);
    EXPECT_TRUE(store.Get()->routes.at("billing").confirmed);
  }
  {
    RouteStore restarted(ConfigRoutes());
    ASSERT_TRUE(restarted.Restore(path).ok());
    EXPECT_EQ(restarted.Get()->routes.at("orders").port, 5433);
    EXPECT_FALSE(restarted.Get()->routes.at("orders").confirmed);
    auto before = restarted.Get();
    EXPECT_EQ(restarted.Confirm("orders").value(), true);
    EXPECT_TRUE(restarted.Get()->routes.at("orders").confirmed);
    EXPECT_FALSE(before->routes.at("orders").confirmed);  // an old reader's view is unchanged
    EXPECT_EQ(restarted.Confirm("nope").status().code(), Code::kNotFound);
    ASSERT_TRUE(restarted.Persist().ok());
  }
  {
    RouteStore again(ConfigRoutes());
    ASSERT_TRUE(again.Restore(path).ok());
    EXPECT_TRUE(again.Get()->routes.at("orders").confirmed);
    // A later switch of another cluster keeps this one's confirmation in the file.
    ASSERT_TRUE(again.Switch("billing", "10.0.0.3", 6001, 2).ok());
  }
  RouteStore last(ConfigRoutes());
  ASSERT_TRUE(last.Restore(path).ok());
  EXPECT_TRUE(last.Get()->routes.at("orders").confirmed);
  EXPECT_FALSE(last.Get()->routes.at("billing").confirmed);

  std::ofstream(path) << R"({"format":1,"routes":{"orders":{"host":"h","port":5,"version":3}}})";
  RouteStore older(ConfigRoutes());
  ASSERT_TRUE(older.Restore(path).ok());
  EXPECT_EQ(older.Get()->routes.at("orders").version, 3u);
  EXPECT_FALSE(older.Get()->routes.at("orders").confirmed);

  std::ofstream(path)
      << R"({"format":1,"routes":{"orders":{"host":"h","port":5,"version":3,"confirmed":1}}})";
  RouteStore bad(ConfigRoutes());
  EXPECT_EQ(bad.Restore(path).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace pgshift::proxy
