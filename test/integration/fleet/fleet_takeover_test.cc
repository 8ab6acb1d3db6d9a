// Two `pgshift server` processes on one PostgreSQL store (issue 13): a migration started through
// one, that server SIGKILLed at a chosen phase (picked by polling the store: before the pause,
// inside the held window, during verification); the other takes the migration over within a
// tick of seeing the dead pid on this host, well before the lease would lapse, and
// finishes it with no acknowledged commit lost through the proxy and exactly one writable
// primary. And a server whose lease was stolen (SIGSTOP past the TTL, the other takes over,
// SIGCONT) writes nothing more to the store and does nothing more to the proxy.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "fixture/fleet_env.h"

namespace pgshift::testing {
namespace {

using Clock = std::chrono::steady_clock;

// The servers' runner lease TTL (EngineSeams::runner_ttl's default).
constexpr double kRunnerTtlS = 15;

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The pid inside a lease owner string "host:pid:start/n".
pid_t OwnerPid(const std::string& owner) {
  size_t a = owner.find(':');
  if (a == std::string::npos) return -1;
  return std::atoi(owner.c_str() + a + 1);
}

// Polls the lease until its owner is a runner of process `pid`; seconds waited, or -1.
double WaitForOwner(FleetEnv& env, const std::string& migration, pid_t pid,
                    std::chrono::seconds timeout) {
  auto start = Clock::now();
  while (Clock::now() - start < timeout) {
    if (OwnerPid(env.Lease(migration).value("owner", "")) == pid) {
      return std::chrono::duration<double>(Clock::now() - start).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

void ExpectFinishedWithNothingLost(FleetEnv& env, FleetCluster& c, const std::string& m) {
  EXPECT_EQ(env.WaitForPhase(m, "completed,rolled_back,failed"), "completed")
      << env.server(1).Log();
  nlohmann::json route = c.Route();
  ASSERT_TRUE(route.contains("port")) << route.dump();
  const int target_port = route["port"];
  EXPECT_NE(target_port, c.source->port());
  EXPECT_FALSE(route.value("paused", true)) << route.dump();
  EXPECT_EQ(env.StopLoadAndCountLost(c), 0u);
  auto report = c.ledger->report();
  EXPECT_GT(report.commits, 0u);
  // Exactly one writable primary: the target the route points at; the old source fenced.
  EXPECT_TRUE(FleetEnv::AppCanWrite(target_port));
  EXPECT_FALSE(FleetEnv::AppCanWrite(c.source->port()));
}

struct KillPoint {
  const char* label;
  const char* phases;  // kill as soon as the store shows one of these
  bool cutover_first;  // request the cutover before waiting for the phase
};

class FleetKill : public ::testing::TestWithParam<KillPoint> {};

TEST_P(FleetKill, TheOtherServerTakesOverAndFinishesWithNothingLost) {
  const KillPoint& kp = GetParam();
  FleetEnv env;
  ServerProcess& a = env.StartServer(0);
  ServerProcess& b = env.StartServer(1);
  FleetCluster& c = env.AddCluster("orders", 0);
  env.StartMigration("orders-1", "orders", 0);
  if (kp.cutover_first) {
    ASSERT_EQ(env.WaitForPhase("orders-1", "ready_for_cutover,failed"), "ready_for_cutover")
        << a.Log();
    auto cut = a.Post("/v1/migrations/orders-1/cutover", env.token);
    ASSERT_EQ(cut.status, 202) << cut.body;
  }
  std::string at = env.WaitForPhase("orders-1", kp.phases);
  ASSERT_FALSE(at.empty()) << "never saw " << kp.phases << "; now " << env.Phase("orders-1");
  nlohmann::json lease = env.Lease("orders-1");
  ASSERT_EQ(OwnerPid(lease.value("owner", "")), a.pid()) << lease.dump();
  const double expires_at = lease.value("expires_at", 0.0);
  a.Kill();
  const double killed_at = WallNow();
  std::cerr << "killed server A in phase " << at << " (" << kp.label << ")\n";

  double waited = WaitForOwner(env, "orders-1", b.pid(), std::chrono::seconds(40));
  ASSERT_GE(waited, 0) << "server B never took the lease over; " << env.Lease("orders-1").dump()
                       << "\n"
                       << b.Log();
  const double took_at = killed_at + waited;
  std::cerr << "server B took the lease over " << waited << " s after the SIGKILL ("
            << expires_at - took_at << " s before A's lease would have lapsed)\n";
  // B took over because it found A's process gone, not because the lease lapsed: its grant
  // (expiry minus the TTL, in the store's own times) comes before A's lease's expiry.
  const nlohmann::json taken = env.Lease("orders-1");
  EXPECT_GT(taken.value("token", 0), lease.value("token", 0));
  const double granted_at = taken.value("expires_at", 0.0) - kRunnerTtlS;
  EXPECT_LT(granted_at, expires_at) << "B waited for A's lease to lapse: " << taken.dump();

  if (!kp.cutover_first) {
    ASSERT_EQ(env.WaitForPhase("orders-1", "ready_for_cutover,failed,rolled_back"),
              "ready_for_cutover")
        << b.Get("/v1/migrations/orders-1", env.token).body << "\n"
        << b.Log();
    auto cut = b.Post("/v1/migrations/orders-1/cutover", env.token);
    ASSERT_EQ(cut.status, 202) << cut.body;
  }
  ExpectFinishedWithNothingLost(env, c, "orders-1");
  auto view = ServerProcess::Json(b.Get("/v1/migrations/orders-1", env.token));
  EXPECT_EQ(view.value("phase", ""), "completed") << view.dump();
  EXPECT_EQ(b.Stop(), 0) << b.Log();
}

INSTANTIATE_TEST_SUITE_P(
    Phases, FleetKill,
    ::testing::Values(KillPoint{"before the pause", "replicating,validating", false},
                      KillPoint{"inside the held window", "fencing,draining,promoting", true},
                      KillPoint{"during verification", "verifying", true}),
    [](const auto& info) {
      std::string s = info.param.label;
      for (char& ch : s) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return s;
    });

TEST(FleetLease, AServerWhoseLeaseWasStolenWritesAndActsNoMore) {
  FleetEnv env;
  ServerProcess& a = env.StartServer(0);
  ServerProcess& b = env.StartServer(1);
  FleetCluster& c = env.AddCluster("orders", 0);
  env.StartMigration("orders-1", "orders", 0);
  ASSERT_EQ(env.WaitForPhase("orders-1", "ready_for_cutover,failed"), "ready_for_cutover")
      << a.Log();
  nlohmann::json before = env.Lease("orders-1");
  ASSERT_EQ(OwnerPid(before.value("owner", "")), a.pid()) << before.dump();

  ASSERT_EQ(kill(a.pid(), SIGSTOP), 0);
  // A stopped process is alive: B waits for the lease to lapse (15 s), then takes it.
  double waited = WaitForOwner(env, "orders-1", b.pid(), std::chrono::seconds(40));
  if (waited < 0) kill(a.pid(), SIGCONT);
  ASSERT_GE(waited, 0) << "server B never took the lease over\n" << b.Log();
  const nlohmann::json stolen = env.Lease("orders-1");
  EXPECT_GT(stolen.value("token", 0), before.value("token", 0));
  EXPECT_GE(WallNow() + 1, before.value("expires_at", 0.0)) << "taken before the lease lapsed";
  // B is at the gate, waiting: nothing moves until the operator asks.
  const int64_t events = env.EventCount("orders-1");
  const std::string phase = env.Phase("orders-1");
  const nlohmann::json route = c.Route();
  ASSERT_TRUE(route.contains("version")) << route.dump();

  ASSERT_EQ(kill(a.pid(), SIGCONT), 0);
  // A's threads wake: its lease keeper and its next turn find the lease lost.
  std::this_thread::sleep_for(std::chrono::seconds(6));
  EXPECT_TRUE(a.Running());
  // B renews its lease (expires_at moves); owner and token stay B's.
  const nlohmann::json lease_after = env.Lease("orders-1");
  EXPECT_EQ(lease_after.value("owner", ""), stolen.value("owner", "")) << lease_after.dump();
  EXPECT_EQ(lease_after.value("token", 0), stolen.value("token", 0)) << lease_after.dump();
  EXPECT_EQ(env.EventCount("orders-1"), events) << "a phase moved after A woke";
  EXPECT_EQ(env.Phase("orders-1"), phase);
  const nlohmann::json route_after = c.Route();
  EXPECT_EQ(route_after.value("version", -1), route.value("version", -2)) << route_after.dump();
  EXPECT_EQ(route_after.value("paused", true), route.value("paused", false));
  EXPECT_EQ(route_after.value("port", 0), c.source->port());

  // The operator's request may go through either server; B, the holder, carries it out.
  auto cut = a.Post("/v1/migrations/orders-1/cutover", env.token);
  ASSERT_EQ(cut.status, 202) << cut.body;
  ExpectFinishedWithNothingLost(env, c, "orders-1");
  EXPECT_EQ(a.Stop(), 0) << a.Log();
  EXPECT_EQ(b.Stop(), 0) << b.Log();
}

// The config's `store =` names the shared store as well as --store does (and wins over it): a
// server given a file by --store but a PostgreSQL store by its config serves the fleet's
// tokens and clusters.
TEST(FleetStore, AConfigsStoreOfPostgresqlWinsOverTheCommandLine) {
  FleetEnv env;
  ServerProcess& first = env.StartServer(0);
  FleetCluster& c = env.AddCluster("orders", 0, /*clients=*/0);
  TempDir dir("pgshift-fleet-config");
  const std::string config = dir.path() + "/server.ini";
  std::ofstream(config) << "[server]\nstore = " << env.store_uri()
                        << "\nplatform_team = platform\n\n[team payments]\n";
  std::string why;
  auto second =
      ServerProcess::Start({.store_path = dir.path() + "/unused.db", .config_path = config}, &why);
  ASSERT_TRUE(second) << why;
  auto cluster = second->Get("/v1/clusters/" + c.name, env.token);
  EXPECT_EQ(cluster.status, 200) << cluster.body;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/unused.db"));
  EXPECT_EQ(second->Stop(), 0) << second->Log();
  EXPECT_EQ(first.Stop(), 0) << first.Log();
}

}  // namespace
}  // namespace pgshift::testing
