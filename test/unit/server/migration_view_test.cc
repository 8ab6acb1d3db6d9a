// The migration view a client follows: its phase is never older than its last event, even when
// a transition lands between the handler's read of the record and its read of the events.
#include "server/migration_view.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace pgshift::server {
namespace {

// A store in which the runner moves the migration the moment the events are asked for: the
// interleaving a polling client met when it read a restarted migration.
class TransitionBeforeEventsStore : public MemoryStore {
 public:
  Result<std::vector<EventRecord>> Events(const std::string& name) override {
    if (!moved_) {
      moved_ = true;
      auto grant = AcquireRunner(name, "runner", std::chrono::seconds(5), 2, "");
      if (!grant.ok() || !grant->acquired) return Internal("no lease in the test store");
      RETURN_IF_ERROR(ApplyTransition(name, grant->lease, Phase::kFailed, Phase::kReplicating,
                                      "operator ran the migration again", {}, 3));
    }
    return MemoryStore::Events(name);
  }

 private:
  bool moved_ = false;
};

TEST(MigrationView, APhaseIsNeverOlderThanTheLastEventBesideIt) {
  TransitionBeforeEventsStore store;
  FakeClock clock;
  ServerContext ctx(ServerConfig{}, store, store, clock);
  MigrationRecord r;
  r.name = "orders-f";
  r.phase = Phase::kFailed;
  ASSERT_TRUE(store.Create(r, 1).ok());
  // The handler found the migration failed; the restart's transition comes before the events.
  auto found = store.Get("orders-f");
  ASSERT_TRUE(found.ok());
  VisibleMigration m{*found, nlohmann::json::object(), "", ""};

  auto view = MigrationViewJson(ctx, m);

  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_FALSE((*view)["events"].empty()) << view->dump();
  EXPECT_EQ((*view)["events"].back().value("to", ""), "replicating") << view->dump();
  EXPECT_EQ(view->value("phase", ""), "replicating") << view->dump();
}

}  // namespace
}  // namespace pgshift::server
