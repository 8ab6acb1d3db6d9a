// A migration driven to completion through the server's API, on real clusters: register,
// create, start, wait at the gate, cut over, completed; the canary password (the source's
// superuser password, in a file the cluster references) appears in no answer, no line the
// server printed and not in the store's file.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server_test_env.h"

namespace pgshift::testing {
namespace {

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ServerMigration, LocalTargetToCompletionThroughTheApiWithoutTheSecretShowing) {
  ServerTestEnv env;
  auto source = PgCluster::Primary();
  env.StartServer({{"PGSHIFT_LOG", "debug"}});  // the most the server ever logs
  ServerProcess& s = env.server();
  std::string answers;
  auto keep = [&](const HttpResponse& r) {
    answers += r.body + "\n";
    return r;
  };

  auto reg = keep(
      s.Post("/v1/clusters", env.payments_token, env.LocalCluster("orders", "payments", *source)));
  ASSERT_EQ(reg.status, 201) << reg.body;
  auto created = keep(
      s.Post("/v1/migrations", env.payments_token,
             {{"name", "orders-1"}, {"cluster", "orders"}, {"options", {{"check_window_s", 1}}}}));
  ASSERT_EQ(created.status, 201) << created.body;
  auto view = ServerProcess::Json(created);
  EXPECT_EQ(view["phase"], "created");
  EXPECT_EQ(view["team"], "payments");
  EXPECT_EQ(view["cluster"], "orders");
  EXPECT_EQ(view["actions"]["start"], true);
  EXPECT_EQ(view["actions"]["cutover"], false);

  auto started = keep(s.Post("/v1/migrations/orders-1/start", env.payments_token));
  ASSERT_EQ(started.status, 202) << started.body;
  auto again = keep(s.Post("/v1/migrations/orders-1/start", env.payments_token));
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(ServerProcess::Json(again)["error"]["code"], "failed_precondition");

  auto ready = env.WaitForPhase("orders-1", env.payments_token, "ready_for_cutover,failed");
  ASSERT_EQ(ready["phase"], "ready_for_cutover") << ready.dump(2);
  EXPECT_EQ(ready["actions"]["cutover"], true);
  EXPECT_TRUE(ready["checks"].is_array() || ready["checks"].is_object()) << ready.dump();

  auto list =
      keep(s.Get("/v1/migrations?team=payments&phase=ready_for_cutover", env.payments_token));
  ASSERT_EQ(list.status, 200);
  auto items = ServerProcess::Json(list)["migrations"];
  ASSERT_EQ(items.size(), 1u) << list.body;
  EXPECT_EQ(items[0]["name"], "orders-1");
  EXPECT_EQ(items[0]["cluster"], "orders");

  auto cut = keep(s.Post("/v1/migrations/orders-1/cutover", env.payments_token));
  ASSERT_EQ(cut.status, 202) << cut.body;
  auto done = env.WaitForPhase("orders-1", env.payments_token, "completed,rolled_back,failed");
  EXPECT_EQ(done["phase"], "completed") << done.dump(2);
  keep(s.Get("/v1/migrations/orders-1", env.payments_token));
  auto cluster = keep(s.Get("/v1/clusters/orders", env.payments_token));
  EXPECT_EQ(ServerProcess::Json(cluster)["migration"]["phase"], "completed") << cluster.body;

  auto late = keep(s.Post("/v1/migrations/orders-1/rollback", env.payments_token));
  EXPECT_EQ(late.status, 409) << late.body;

  ASSERT_EQ(s.Stop(), 0) << s.Log();
  const std::string canary = PgCluster::kPassword;
  EXPECT_EQ(answers.find(canary), std::string::npos);
  EXPECT_EQ(s.Stdout().find(canary), std::string::npos);
  EXPECT_EQ(s.Log().find(canary), std::string::npos);
  EXPECT_EQ(FileText(env.store_path()).find(canary), std::string::npos);
  EXPECT_EQ(FileText(env.store_path() + "-wal").find(canary), std::string::npos);
  // Exactly one line on stdout.
  std::string out = s.Stdout();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  env.server_ptr().reset();
}

}  // namespace
}  // namespace pgshift::testing
