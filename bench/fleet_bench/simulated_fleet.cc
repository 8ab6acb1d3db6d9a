// The simulated fleet: real engine and store, recorded timings in place of the database work.
#include "simulated_fleet.h"

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "store/postgres_store.h"
#include "workflow/engine.h"

namespace pgshift::bench {
namespace {

// Counts the store writes the engine makes (every call that may change a row), passing each
// call to the real store.
class CountingStore : public MigrationStore {
 public:
  explicit CountingStore(MigrationStore& s) : s_(s) {}
  uint64_t writes() const { return writes_; }

  Status Create(const MigrationRecord& r, double now) override { return W(s_.Create(r, now)); }
  Result<MigrationRecord> Get(const std::string& n) override { return s_.Get(n); }
  Result<std::vector<MigrationRecord>> List() override { return s_.List(); }
  Result<std::vector<EventRecord>> Events(const std::string& n) override { return s_.Events(n); }
  Status ApplyTransition(const std::string& n, const RunnerLease& l, Phase from, Phase to,
                         const std::string& reason, const nlohmann::json& patch,
                         double now) override {
    return W(s_.ApplyTransition(n, l, from, to, reason, patch, now));
  }
  Status MergeData(const std::string& n, const RunnerLease& l, Phase p, const nlohmann::json& patch,
                   double now) override {
    return W(s_.MergeData(n, l, p, patch, now));
  }
  Status RequestCutover(const std::string& n, double now) override {
    return W(s_.RequestCutover(n, now));
  }
  Status RequestRollback(const std::string& n, const nlohmann::json& patch, double now) override {
    return W(s_.RequestRollback(n, patch, now));
  }
  Result<LeaseGrant> AcquireRunner(const std::string& n, const std::string& owner,
                                   std::chrono::milliseconds ttl, double now,
                                   const std::string& dead) override {
    ++writes_;
    return s_.AcquireRunner(n, owner, ttl, now, dead);
  }
  Status RenewRunner(const std::string& n, const RunnerLease& l, std::chrono::milliseconds ttl,
                     double now) override {
    return W(s_.RenewRunner(n, l, ttl, now));
  }
  Result<double> CheckRunner(const std::string& n, const RunnerLease& l) override {
    return s_.CheckRunner(n, l);
  }
  Status ReleaseRunner(const std::string& n, const RunnerLease& l) override {
    return W(s_.ReleaseRunner(n, l));
  }
  Result<uint64_t> NextRouteVersion(const std::string& k) override {
    ++writes_;
    return s_.NextRouteVersion(k);
  }
  std::string Location() const override { return s_.Location(); }

 private:
  Status W(Status st) {
    ++writes_;
    return st;
  }
  MigrationStore& s_;
  std::atomic<uint64_t> writes_{0};
};

class NoRouter : public Router {
 public:
  Status Pause(std::chrono::milliseconds, std::chrono::milliseconds) override {
    return Status::Ok();
  }
  Status Renew(std::chrono::milliseconds) override { return Status::Ok(); }
  Status Switch(const Endpoint&, uint64_t) override { return Status::Ok(); }
  Status Resume() override { return Status::Ok(); }
  std::string Describe() const override { return "simulated"; }
};

Phase NextOnTheHappyPath(Phase p) {
  return p == Phase::kVerifying ? Phase::kCompleted : static_cast<Phase>(static_cast<int>(p) + 1);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace

nlohmann::json TimingModel::ToJson() const {
  nlohmann::json phases = nlohmann::json::object();
  for (const auto& [p, s] : phase_seconds) phases[std::string(PhaseName(p))] = s;
  return {{"phase_seconds", phases}, {"failure_rate", failure_rate}, {"time_scale", time_scale}};
}

Result<nlohmann::json> RunSimulatedFleet(const TimingModel& model,
                                         const SimulationOptions& options) {
  std::vector<std::unique_ptr<PostgresStore>> stores;
  std::vector<std::unique_ptr<CountingStore>> counted;
  for (int i = 0; i < options.engines; ++i) {
    ASSIGN_OR_RETURN(auto s, PostgresStore::Open(options.store_conninfo, options.schema));
    counted.push_back(std::make_unique<CountingStore>(*s));
    stores.push_back(std::move(s));
  }
  Clock& clock = Clock::Real();
  // The fleet registered up front, cutover already requested (the gate lets it through).
  for (int i = 0; i < options.migrations; ++i) {
    MigrationRecord r;
    r.name = "sim-" + std::to_string(i);
    r.spec = {{"name", r.name},
              {"source", "host=127.0.0.1 port=1 user=u"},
              {"target", "host=127.0.0.1 port=2 user=u"},
              {"platform", "external"}};
    RETURN_IF_ERROR(counted[0]->Create(r, clock.WallSeconds()));
    RETURN_IF_ERROR(counted[0]->RequestCutover(r.name, clock.WallSeconds()));
  }
  std::atomic<uint64_t> step_failures{0};
  auto seams = [&](int engine) {
    EngineSeams s;
    s.owner = "simulated:" + std::to_string(engine);
    s.router_factory = [](const MigrationSpec&) -> Result<std::unique_ptr<Router>> {
      return std::unique_ptr<Router>(new NoRouter);
    };
    s.steps = [&](Phase p) -> EngineSeams::StepFn {
      return [&, p](MigrationContext& ctx) -> Result<StepOutcome> {
        auto it = model.phase_seconds.find(p);
        double sec = (it == model.phase_seconds.end() ? 0 : it->second) * model.time_scale;
        std::this_thread::sleep_for(std::chrono::duration<double>(sec));
        if (p == Phase::kValidating && model.failure_rate > 0) {
          thread_local std::mt19937_64 rng(std::random_device{}());
          if (std::uniform_real_distribution<double>(0, 1)(rng) < model.failure_rate) {
            ++step_failures;
            return FailedPrecondition("simulated failure (the real run's rate)");
          }
        }
        RETURN_IF_ERROR(ctx.Transition(p, NextOnTheHappyPath(p), "simulated step"));
        return StepOutcome::kMoved;
      };
    };
    return s;
  };
  auto silent = MakeSilentProgress();
  std::vector<std::unique_ptr<Engine>> engines;
  for (int i = 0; i < options.engines; ++i) {
    engines.push_back(std::make_unique<Engine>(*counted[i], clock, *silent, seams(i)));
  }
  uint64_t writes_before = 0;
  for (auto& c : counted) writes_before += c->writes();

  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> next{0}, completed{0}, failed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < options.workers; ++w) {
    workers.emplace_back([&, w] {
      Engine& engine = *engines[w % options.engines];
      for (int i = next++; i < options.migrations; i = next++) {
        const std::string name = "sim-" + std::to_string(i);
        bool done = false;
        for (int turn = 0; turn < 200 && !done; ++turn) {
          auto t = engine.Turn(name);
          if (!t.ok() || t->phase == Phase::kFailed) {
            ++failed;
            done = true;
          } else if (t->kind == TurnOutcome::Kind::kTerminal) {
            ++(t->phase == Phase::kCompleted ? completed : failed);
            done = true;
          }
        }
        engine.Forget(name);
      }
    });
  }
  for (auto& t : workers) t.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  engines.clear();  // leases released
  uint64_t writes = 0;
  for (auto& c : counted) writes += c->writes();
  writes -= writes_before;
  const double n = options.migrations;
  return nlohmann::json{{"migrations", options.migrations},
                        {"wall_s", wall},
                        {"cpu_ms_per_migration", cpu * 1000.0 / n},
                        {"store_writes_per_migration", double(writes) / n},
                        {"completed", completed.load()},
                        {"failed", failed.load()},
                        {"workers", options.workers},
                        {"engines", options.engines}};
}

}  // namespace pgshift::bench
