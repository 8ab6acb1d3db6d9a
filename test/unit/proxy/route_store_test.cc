// RouteStore: versions only increase; readers keep the table they loaded.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pgshift::proxy
