// Admission under random fleets (fixed seed): a simulated scheduler admits, runs and finishes
// migrations of random teams, hosts and servers, and after every decision the running set is
// counted independently of Admit; any count above its limit fails the test. Plus the reasons
// (each names its limit and value) and the source host of a conninfo.
#include "scheduler/admission.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace pgshift::scheduler {
namespace {

struct Counts {
  int total = 0;
  std::map<std::string, int> server, team, host;
  int cutovers = 0;
};

Counts Count(const std::vector<RunningMigration>& running) {
  Counts c;
  for (const auto& r : running) {
    ++c.total;
    ++c.server[r.server];
    ++c.team[r.team];
    ++c.host[r.source_host];
    if (r.in_cutover) ++c.cutovers;
  }
  return c;
}

void ExpectWithin(const std::vector<RunningMigration>& running, const Limits& l, int step) {
  Counts c = Count(running);
  auto within = [&](int n, int limit, const std::string& what) {
    if (limit > 0) {
      ASSERT_LE(n, limit) << what << " over its limit at step " << step;
    }
  };
  within(c.total, l.max_running, "the fleet");
  for (const auto& [k, n] : c.server) within(n, l.max_running_per_server, "server " + k);
  for (const auto& [k, n] : c.team) within(n, l.max_running_per_team, "team " + k);
  for (const auto& [k, n] : c.host) within(n, l.max_running_per_source_host, "host " + k);
  within(c.cutovers, l.max_cutovers_at_once, "cutovers");
}

TEST(Admission, RandomFleetsNeverExceedAnyLimit) {
  std::mt19937 rng(20261129);
  for (int fleet = 0; fleet < 200; ++fleet) {
    Limits l;
    auto pick = [&](int hi) { return static_cast<int>(rng() % (hi + 1)); };  // 0..hi
    l.max_running = pick(12);
    l.max_running_per_server = pick(5);
    l.max_running_per_team = pick(4);
    l.max_running_per_source_host = pick(3);
    l.max_cutovers_at_once = 1 + pick(2);
    const int teams = 1 + pick(4), hosts = 1 + pick(5), servers = 1 + pick(2);
    std::vector<RunningMigration> queue, running;
    for (int i = 0; i < 60; ++i) {
      queue.push_back({"m" + std::to_string(i), "team" + std::to_string(rng() % teams),
                       "host" + std::to_string(rng() % hosts), "", false});
    }
    int admitted = 0;
    for (int step = 0; step < 400 && !(queue.empty() && running.empty()); ++step) {
      switch (rng() % 4) {
        case 0:
        case 1: {  // a server's claim loop offers a queued migration
          if (queue.empty()) break;
          size_t i = rng() % queue.size();
          RunningMigration c = queue[i];
          c.server = "server" + std::to_string(rng() % servers);
          Admission a = AdmitStart(c, running, l);
          if (a.admit) {
            running.push_back(c);
            queue.erase(queue.begin() + i);
            ++admitted;
          } else {
            ASSERT_FALSE(a.reason.empty());
          }
          break;
        }
        case 2: {  // a running migration asks for its cutover
          if (running.empty()) break;
          RunningMigration& r = running[rng() % running.size()];
          if (AdmitCutover(r, running, l).admit) r.in_cutover = true;
          break;
        }
        case 3: {  // one finishes (a cutover ends with it)
          if (running.empty()) break;
          running.erase(running.begin() + rng() % running.size());
          break;
        }
      }
      ExpectWithin(running, l, step);
      if (HasFatalFailure()) return;
    }
    EXPECT_GT(admitted, 0) << "fleet " << fleet << " admitted nothing: the limits starve it";
  }
}

TEST(Admission, EachRefusalNamesItsLimitAndValue) {
  Limits l;
  l.max_running_per_team = 1;
  std::vector<RunningMigration> running = {{"a", "payments", "db1", "s1", false}};
  Admission a = AdmitStart({"b", "payments", "db2", "s1", false}, running, l);
  EXPECT_FALSE(a.admit);
  EXPECT_EQ(a.reason, "team payments already runs 1 migration (max_running_per_team = 1)");
  EXPECT_TRUE(AdmitStart({"c", "search", "db2", "s1", false}, running, l).admit);

  l = Limits{};
  l.max_running_per_source_host = 1;
  a = AdmitStart({"b", "search", "db1", "s2", false}, running, l);
  EXPECT_EQ(a.reason,
            "source host db1 already serves 1 migration (max_running_per_source_host = 1)");

  l = Limits{};
  l.max_running = 1;
  EXPECT_EQ(AdmitStart({"b", "x", "y", "s2", false}, running, l).reason,
            "the fleet already runs 1 migration (max_running = 1)");
  l = Limits{};
  l.max_running_per_server = 1;
  EXPECT_EQ(AdmitStart({"b", "x", "y", "s1", false}, running, l).reason,
            "server s1 already runs 1 migration (max_running_per_server = 1)");
  EXPECT_TRUE(AdmitStart({"b", "x", "y", "s2", false}, running, l).admit);
}

TEST(Admission, AMigrationAlreadyRunningStaysAdmitted) {
  Limits l;
  l.max_running = 1;
  std::vector<RunningMigration> running = {{"a", "t", "h", "s", false}};
  EXPECT_TRUE(AdmitStart(running[0], running, l).admit);
}

TEST(Admission, OneCutoverAtOnceByDefault) {
  Limits l;  // max_cutovers_at_once = 1
  std::vector<RunningMigration> running = {{"a", "t", "h1", "s", true},
                                           {"b", "u", "h2", "s", false}};
  Admission a = AdmitCutover(running[1], running, l);
  EXPECT_FALSE(a.admit);
  EXPECT_EQ(a.reason, "1 cutover already in progress (a; max_cutovers_at_once = 1)");
  EXPECT_TRUE(AdmitCutover(running[0], running, l).admit);  // its own continues
  l.max_cutovers_at_once = 2;
  EXPECT_TRUE(AdmitCutover(running[1], running, l).admit);
}

TEST(Admission, SourceHostOfAConninfo) {
  EXPECT_EQ(SourceHostOf("host=db1.example port=5432 user=postgres"), "db1.example");
  EXPECT_EQ(SourceHostOf("port=5432 hostaddr=10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(SourceHostOf("host='db2' dbname=x"), "db2");
  EXPECT_EQ(SourceHostOf("host=/var/run/postgresql port=5432"), "localhost");
  EXPECT_EQ(SourceHostOf("dbname=x"), "localhost");
  EXPECT_EQ(SourceHostOf("postgresql://u@db3:5433/x"), "db3");
  EXPECT_EQ(SourceHostOf("postgres://db4/x"), "db4");
}

}  // namespace
}  // namespace pgshift::scheduler
