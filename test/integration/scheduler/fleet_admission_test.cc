// Two servers' claim loops on one PostgreSQL store (two PostgresStore handles, as two
// `pgshift server` processes have), ticking at the same instants from two threads: admission
// and cutover admission are decided under the store's admission lock, so together they never
// admit more than a limit allows. The loops run no engine turns (TickOnce); the store is a real
// PostgreSQL server. Each test fails if one count ever goes past its limit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fixture/pg_cluster.h"
#include "server/claim_loop.h"
#include "store/postgres_store.h"

namespace pgshift::testing {
namespace {

using server::ClaimLoop;
using server::SchedulerConfig;
using server::ServerConfig;
using server::ServerContext;

class FleetAdmission : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { store_cluster_ = PgCluster::Primary(); }
  static void TearDownTestSuite() { store_cluster_.reset(); }

  void SetUp() override {
    static std::atomic<int> n{0};
    schema_ = "fa" + std::to_string(getpid()) + "_" + std::to_string(n++);
    for (int i = 0; i < 2; ++i) {
      auto s = PostgresStore::Open(store_cluster_->ConnString(), schema_);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      stores_.push_back(std::move(s).value());
      contexts_.push_back(std::make_unique<ServerContext>(ServerConfig{}, *stores_.back(),
                                                          *stores_.back(), Clock::Real()));
    }
  }

  // A started migration of its own cluster (own source host), standing at `phase`.
  void Add(const std::string& name, const std::string& team, Phase phase, bool admitted,
           bool cutover_requested) {
    PostgresStore& s = *stores_[0];
    ClusterRecord c;
    c.name = name + "-cluster";
    c.team = team;
    c.registration = {{"source", {{"conninfo", "host=" + name + ".db port=5432"}}}};
    ASSERT_TRUE(s.CreateCluster(c, 1).ok());
    MigrationRecord r;
    r.name = name;
    r.phase = phase;
    ASSERT_TRUE(s.Create(r, 1).ok());
    nlohmann::json control = {{"cluster", c.name}, {"team", team}, {"started", true}};
    if (admitted) control["admitted"] = true;
    ASSERT_TRUE(s.MergeControl(name, control, 1).ok());
    if (cutover_requested) {
      ASSERT_TRUE(s.RequestCutover(name, 1).ok());
    }
  }

  // Both servers tick `rounds` times, each round at the same instant (a barrier), and after
  // every round `count` (read from the store) is checked; returns the largest seen.
  int RaceTicks(const SchedulerConfig& config, int rounds,
                const std::function<int(PostgresStore&)>& count) {
    ClaimLoop a(*contexts_[0], config), b(*contexts_[1], config);
    int largest = 0;
    for (int round = 0; round < rounds; ++round) {
      std::atomic<int> arrived{0};
      auto tick = [&](ClaimLoop& loop) {
        ++arrived;
        while (arrived.load() < 2) std::this_thread::yield();
        (void)loop.TickOnce();
      };
      std::thread ta([&] { tick(a); }), tb([&] { tick(b); });
      ta.join();
      tb.join();
      largest = std::max(largest, count(*stores_[0]));
    }
    return largest;
  }

  static int CountControl(PostgresStore& s, const char* key) {
    auto all = s.AllControls();
    int n = 0;
    if (!all.ok()) return -1;
    for (const auto& [name, control] : *all) n += control.value(key, false) ? 1 : 0;
    return n;
  }

  static inline std::unique_ptr<PgCluster> store_cluster_;
  std::string schema_;
  std::vector<std::unique_ptr<PostgresStore>> stores_;
  std::vector<std::unique_ptr<ServerContext>> contexts_;
};

TEST_F(FleetAdmission, TwoServersTogetherNeverAdmitMoreThanMaxRunning) {
  for (int i = 0; i < 12; ++i) {
    Add("m" + std::to_string(i), i % 2 ? "payments" : "search", Phase::kCreated, false, false);
  }
  SchedulerConfig config;
  config.limits.max_running = 3;
  const int largest =
      RaceTicks(config, 5, [](PostgresStore& s) { return CountControl(s, "admitted"); });
  EXPECT_EQ(largest, 3) << "max_running = 3";
  // The queued ones say which limit holds them.
  auto control = stores_[1]->AllControls();
  ASSERT_TRUE(control.ok());
  int waiting = 0;
  for (const auto& [name, c] : *control) {
    if (!c.value("admitted", false)) {
      ++waiting;
      EXPECT_NE(c.value("waiting", "").find("max_running = 3"), std::string::npos) << c.dump();
    }
  }
  EXPECT_EQ(waiting, 9);
}

TEST_F(FleetAdmission, TwoServersTogetherNeverAdmitMoreThanOneCutoverAtOnce) {
  for (int i = 0; i < 6; ++i) {
    Add("c" + std::to_string(i), "payments", Phase::kReadyForCutover, true, true);
  }
  SchedulerConfig config;
  config.limits.max_cutovers_at_once = 1;
  const int largest =
      RaceTicks(config, 5, [](PostgresStore& s) { return CountControl(s, "cutover_admitted"); });
  EXPECT_EQ(largest, 1) << "max_cutovers_at_once = 1";
}

}  // namespace
}  // namespace pgshift::testing
