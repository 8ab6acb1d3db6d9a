// Whole migrations with a real CDC consumer (pg_recvlogical) on a logical slot of the source:
// the cutover does not hold traffic while consumers catch up, yet no change is lost (I4),
// because the old source's slot is dropped only once the consumer confirmed the fence point.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "demo/cdc_consumer.h"
#include "fixture/migration_harness.h"
#include "workflow/route_file.h"

namespace pgshift::testing {
namespace {

constexpr const char* kSlot = "orders_cdc";

bool SlotExists(PgCluster& c) {
  return c.Value("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                 std::string(kSlot) + "'") == "1";
}

bool SawFencePoint(const std::string& output_path) {
  std::ifstream in(output_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find("prefix: pgshift.fence") != std::string::npos;
}

struct CdcScenario {
  MigrationHarness h{{.load_clients = 0}};
  TempDir dir{"pgshift-cdc-migration"};
  std::string output = dir.path() + "/cdc.out";
  std::unique_ptr<demo::CommitChecker> load;

  CdcScenario() {
    Status slot = demo::CdcConsumer::EnsureSlot(h.source().Conn(), kSlot);
    if (!slot.ok()) throw std::runtime_error(slot.ToString());
    auto started = demo::CommitChecker::Start([this] { return h.AppEndpoint(); }, {.clients = 2});
    if (!started.ok()) throw std::runtime_error(started.status().ToString());
    load = std::move(started).value();
  }

  // `run` finished the migration once `consumer` read the old source's slot to the fence point:
  // that slot is dropped, and no acknowledged commit is missing on the new primary.
  void ExpectCompletedAfterTheConsumerRead(const CommandOutput& run, demo::CdcConsumer& consumer) {
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(h.Status()["state"], "completed");
    EXPECT_TRUE(SawFencePoint(output));
    EXPECT_FALSE(SlotExists(h.source()));
    consumer.Stop();
    load->Stop();
    EXPECT_EQ(*load->CountLostCommits(h.TargetConn()), 0u);
  }
};

TEST(CdcMigration, ConsumerDrainsTheOldSlotToTheFenceThenContinuesOnTheNewPrimary) {
  CdcScenario sc;
  auto consumer = demo::CdcConsumer::Start(sc.h.source().Conn(), {kSlot, sc.output});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  sc.h.Start({"--auto-cutover", "--cdc-timeout", "30"});

  auto run = sc.h.Pgshift({"migrate", "run", "m1"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // Completion means the consumer confirmed the fence point on the old source; it may now
  // move to the slot pgshift created on the new primary at promotion.
  ASSERT_TRUE(SawFencePoint(sc.output));
  EXPECT_FALSE(SlotExists(sc.h.source())) << "the old source's slot must be dropped";
  ASSERT_TRUE((*consumer)->Restart(sc.h.TargetConn()).ok());

  sc.load->Stop();
  uint64_t lost = *sc.load->CountLostCommits(sc.h.TargetConn());
  EXPECT_EQ(lost, 0u);
  // The consumer catches up with the last commits on the new primary.
  demo::DeliveryReport report;
  for (int i = 0; i < 300; ++i) {
    report = *(*consumer)->Check(sc.load->acknowledged());
    if (report.missing == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (*consumer)->Stop();
  EXPECT_GT(report.delivered, 0u);
  EXPECT_EQ(report.missing, 0u) << "I4: a change acknowledged to the application never "
                                   "reached the consumer";
  EXPECT_EQ(report.duplicated, 0u);
  EXPECT_EQ(report.out_of_order, 0u);
}

TEST(CdcMigration, ConsumerThatHasNotConfirmedKeepsItsSlotUntilItHas) {
  CdcScenario sc;
  // No consumer runs: the slot's confirmed position stays before the fence point.
  sc.h.Start({"--auto-cutover", "--cdc-catch-up-timeout", "3"});

  auto first = sc.h.Pgshift({"migrate", "run", "m1"});
  EXPECT_NE(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find(kSlot), std::string::npos) << "the late slot must be named";
  auto s = sc.h.Status();
  EXPECT_EQ(s["phase"], "failed");
  // Traffic was not held for the consumer: the application already writes on the new primary.
  EXPECT_EQ(ReadRouteFile(sc.h.route_file())->endpoint.port,
            std::stoi(sc.h.TargetConn().Get("port")));
  EXPECT_TRUE(SlotExists(sc.h.source())) << "I4: an unconfirmed slot must not be dropped";

  // The consumer comes back and reads up to the fence point; running again finishes.
  auto consumer = demo::CdcConsumer::Start(sc.h.source().Conn(), {kSlot, sc.output});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  sc.ExpectCompletedAfterTheConsumerRead(sc.h.Pgshift({"migrate", "run", "m1"}), **consumer);
}

// docs/chaos.md finding 13: after the switch nothing is held, so a consumer down for longer
// than the CDC timeout of the held window is waited for (cdc_catch_up_timeout), not turned
// into a failed migration.
TEST(CdcMigration, AConsumerDownLongerThanTheCdcTimeoutAfterTheSwitchIsWaitedFor) {
  CdcScenario sc;
  sc.h.Start({"--auto-cutover", "--cdc-timeout", "1", "--cdc-catch-up-timeout", "120"});
  auto run = std::async(std::launch::async, [&] { return sc.h.Pgshift({"migrate", "run", "m1"}); });
  // The consumer starts only once the verify step has waited past the CDC timeout.
  bool verifying = false;
  for (int i = 0; i < 600 && !verifying; ++i) {
    verifying = sc.h.Status()["phase"] == "verifying";
    if (!verifying) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(verifying) << sc.h.Status().dump();
  std::this_thread::sleep_for(std::chrono::seconds(4));
  ASSERT_NE(run.wait_for(std::chrono::seconds(0)), std::future_status::ready) << run.get().output;
  auto consumer = demo::CdcConsumer::Start(sc.h.source().Conn(), {kSlot, sc.output});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  sc.ExpectCompletedAfterTheConsumerRead(run.get(), **consumer);
}

}  // namespace
}  // namespace pgshift::testing
