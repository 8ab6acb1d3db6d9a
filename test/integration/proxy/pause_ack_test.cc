// A cutover through the proxies is all or nothing at the pause: when one registered proxy
// does not acknowledge it (down, or a session that does not reach a transaction boundary
// in time), the migration aborts before fencing and the source keeps serving through the
// proxies that did pause (I1, I3). Real proxy, real source, the real workflow engine.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "proxy_harness.h"
#include "store/sqlite_store.h"
#include "workflow/engine.h"
#include "workflow/progress.h"
#include "workflow/start_migration.h"

namespace pgshift::testing {
namespace {

constexpr const char* kName = "orders-move";

class PauseAckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = h_.dir.path() + "/admin.token";
    std::ofstream(token_file_) << kAdminToken << "\n";
    target_dir_ = h_.dir.path() + "/target";
  }
  void TearDown() override {
    if (std::filesystem::exists(target_dir_ + "/PG_VERSION")) {
      auto target = LocalInstance::Attach(target_dir_, PgCluster::kPassword);
      if (target.ok()) (void)target->Stop(/*immediate=*/true);
    }
  }

  nlohmann::json ProxyEntry(int admin_port) const {
    return {{"admin", "127.0.0.1:" + std::to_string(admin_port)}, {"token_file", token_file_}};
  }

  // Runs a whole migration of the harness's primary with automatic cutover through `proxies`.
  MigrationRecord Migrate(const nlohmann::json& proxies) {
    auto store = SqliteStore::Open(h_.dir.path() + "/pgshift.db");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    StartRequest req;
    req.name = kName;
    req.source = h_.primary->Conn().raw();
    req.create_target_dir = target_dir_;
    req.target_port = *ReservePort();
    req.options.auto_cutover = true;
    req.options.check_window = std::chrono::seconds(1);
    req.options.pause_deadline = std::chrono::milliseconds(1500);
    req.options.router = {{"kind", "proxy"}, {"cluster", "orders"}, {"proxies", proxies}};
    auto spec = StartMigration(**store, req, Clock::Real());
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    auto progress = MakeSilentProgress();
    Engine engine(**store, Clock::Real(), *progress);
    (void)engine.Run(kName, {.wait_at_gate = false});
    return *(*store)->Get(kName);
  }

  void ExpectSourceStillServes() {
    EXPECT_EQ(h_.primary->Value("SELECT pg_is_in_recovery()"), "f");
    EXPECT_EQ(h_.primary->Value("SHOW default_transaction_read_only"), "off");
    auto c = h_.Connect();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_TRUE(c->Exec("CREATE TABLE IF NOT EXISTS after_abort(x int); "
                        "INSERT INTO after_abort VALUES (1)")
                    .ok())
        << "the proxy that paused must have resumed on the source";
    EXPECT_EQ(h_.primary->Value("SELECT count(*) FROM after_abort", "appdb"), "1");
    auto target = LocalInstance::Attach(target_dir_, PgCluster::kPassword);
    ASSERT_TRUE(target.ok());
    auto t = PgConnection::Connect(target->Conn("postgres", "postgres"));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t->QueryValue("SELECT pg_is_in_recovery()"), "t") << "never promoted";
  }

  ProxyHarness h_;
  std::string token_file_, target_dir_;
};

TEST_F(PauseAckTest, AProxyThatIsDownAbortsTheCutoverAndTheOthersResume) {
  int nobody = *ReservePort();  // reserved, never listened on: a proxy that is down
  MigrationRecord r =
      Migrate(nlohmann::json::array({ProxyEntry(h_.proxy->admin_port()), ProxyEntry(nobody)}));

  Phase phase = r.phase;
  EXPECT_EQ(phase, Phase::kRolledBack);
  EXPECT_EQ(r.data.value("rollback_from", ""), "pausing") << r.data.dump();
  EXPECT_NE(r.data.value("rollback_reason", "").find("pause not acknowledged"), std::string::npos)
      << r.data.dump();
  EXPECT_NE(
      r.data.value("rollback_reason", "").find("cutover aborted, traffic resumed on the source"),
      std::string::npos)
      << r.data.dump();
  ExpectSourceStillServes();
}

TEST_F(PauseAckTest, ASessionThatNeverReachesABoundaryAbortsTheCutover) {
  auto stuck = h_.Connect();
  ASSERT_TRUE(stuck.ok()) << stuck.status().ToString();
  ASSERT_TRUE(stuck->Exec("BEGIN; SELECT 1").ok());  // holds a transaction open throughout

  MigrationRecord r = Migrate(nlohmann::json::array({ProxyEntry(h_.proxy->admin_port())}));
  Phase phase = r.phase;
  EXPECT_EQ(phase, Phase::kRolledBack);
  EXPECT_EQ(r.data.value("rollback_from", ""), "pausing") << r.data.dump();
  // The session that kept the pause from completing is untouched and can still commit.
  EXPECT_TRUE(stuck->Exec("COMMIT").ok());
  ExpectSourceStillServes();
}

}  // namespace
}  // namespace pgshift::testing
