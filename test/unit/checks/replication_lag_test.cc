// The window logic of replication_lag and wal_rates, on hand-built samples.
#include <gtest/gtest.h>

#include "checks/check_functions.h"

namespace pgshift {
namespace {

constexpr uint64_t kMb = 1024 * 1024;

// A sample at `at` seconds: the source at `source` bytes, the target replayed `replay` bytes.
ReplicationSample At(double at, uint64_t source, std::optional<uint64_t> replay,
                     std::optional<double> xact_age = std::nullopt) {
  ReplicationSample s;
  s.at_seconds = at;
  s.source_lsn = Lsn{source};
  if (replay) s.target_replay_lsn = Lsn{*replay};
  s.xact_replay_age_seconds = xact_age;
  return s;
}

TEST(ReplicationLag, EverySampleUnderThresholdPasses) {
  std::vector<ReplicationSample> w = {At(0, 100, 100), At(1, 200, 150, 0.1), At(2, 300, 300)};
  CheckResult r = CheckReplicationLag(w, kMb, 5.0);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.evidence.dump();
  EXPECT_EQ(r.evidence["samples"], 3);
  EXPECT_EQ(r.evidence["peak_bytes"], 50);
  EXPECT_EQ(r.evidence["last"]["bytes"], 0);
}

TEST(ReplicationLag, OneLowSampleDoesNotPassAWindowOfHighOnes) {
  // Lag over 16 MB for most of the window, caught up only at the last reading.
  std::vector<ReplicationSample> w = {At(0, 40 * kMb, 10 * kMb, 1.0),
                                      At(1, 60 * kMb, 20 * kMb, 1.0), At(2, 60 * kMb, 60 * kMb)};
  CheckResult r = CheckReplicationLag(w, 16 * kMb, 5.0);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.evidence["samples_over_threshold"], 2);
  EXPECT_EQ(r.evidence["peak_bytes"], 40 * kMb);
  EXPECT_EQ(r.evidence["last"]["bytes"], 0);
}

TEST(ReplicationLag, OneHighSampleFailsTheWindow) {
  std::vector<ReplicationSample> w = {At(0, 10, 10), At(1, 20 * kMb, 0, 0.5), At(2, 30, 30)};
  EXPECT_EQ(CheckReplicationLag(w, 16 * kMb, 5.0).verdict, Verdict::kFail);
  EXPECT_EQ(CheckReplicationLag(w, 32 * kMb, 5.0).verdict, Verdict::kPass);
}

TEST(ReplicationLag, SecondsOverThresholdFail) {
  // The target replays nothing while the source keeps writing: the replayed position was
  // passed at t=0 (between the samples at 0 and 1), so by t=8 it is up to 8 s old.
  std::vector<ReplicationSample> w;
  for (int i = 0; i <= 8; ++i) w.push_back(At(i, 1000 + i * 100, 1000));
  CheckResult r = CheckReplicationLag(w, kMb, 5.0);
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.evidence.dump();
  EXPECT_DOUBLE_EQ(r.evidence["peak_seconds"].get<double>(), 8.0);
}

TEST(ReplicationLag, TargetWithoutReplayPositionFails) {
  std::vector<ReplicationSample> w = {At(0, 10, std::nullopt), At(1, 20, std::nullopt)};
  CheckResult r = CheckReplicationLag(w, kMb, 5.0);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.evidence["samples_without_replay"], 2);
}

TEST(LagPerSample, CaughtUpIsZeroSeconds) {
  auto lag = LagPerSample({At(0, 100, 100, 600.0), At(1, 100, 100, 601.0)});
  ASSERT_EQ(lag.size(), 2u);
  // An idle source: the last replayed commit is old, but nothing is left to replay.
  EXPECT_EQ(lag[1]->bytes, 0u);
  EXPECT_EQ(lag[1]->seconds, 0.0);
}

TEST(LagPerSample, BoundedByTheLastSampleBeforeTheSourcePassedTheReplayPosition) {
  // The source passed 150 between t=1 and t=2; at t=4 the target is still at 150.
  auto lag = LagPerSample(
      {At(0, 100, 100), At(1, 150, 150), At(2, 200, 150), At(3, 250, 150), At(4, 300, 150)});
  EXPECT_DOUBLE_EQ(lag[4]->seconds, 3.0);
  EXPECT_EQ(lag[4]->bytes, 150u);
}

TEST(LagPerSample, ReplayedCommitAgeTightensTheBound) {
  auto lag = LagPerSample({At(0, 100, 100), At(1, 200, 150, 0.2)});
  EXPECT_DOUBLE_EQ(lag[1]->seconds, 0.2);
}

TEST(LagPerSample, BehindFromTheStartUsesTheReplayedCommitAge) {
  auto lag = LagPerSample({At(0, 500, 100, 7.5)});
  EXPECT_DOUBLE_EQ(lag[0]->seconds, 7.5);
}

TEST(LagPerSample, BacklogFromBeforeTheWindowClearedQuicklyIsNotDatedByAnOldCommit) {
  // An idle source (last commit 10 minutes ago) wrote a background record just before the
  // first reading; the target replayed it a moment later.
  auto lag = LagPerSample({At(0, 1000, 900, 600.0), At(0.25, 1000, 1000, 600.25)});
  EXPECT_EQ(lag[0]->bytes, 100u);
  EXPECT_DOUBLE_EQ(lag[0]->seconds, 0.0);
  EXPECT_EQ(
      CheckReplicationLag({At(0, 1000, 900, 600.0), At(0.25, 1000, 1000, 600.25)}, 1 << 20, 5.0)
          .verdict,
      Verdict::kPass);
}

TEST(LagPerSample, StuckSinceBeforeTheWindowUsesTheReplayedCommitAge) {
  auto lag = LagPerSample({At(0, 1000, 900, 600.0), At(1, 1000, 900, 601.0)});
  EXPECT_DOUBLE_EQ(lag[1]->seconds, 601.0);
}

TEST(WalRates, ReplicaKeepingUpPasses) {
  std::vector<ReplicationSample> w;
  for (int i = 0; i <= 4; ++i) w.push_back(At(i, i * 10 * kMb, i * 10 * kMb - (i ? 1000 : 0)));
  CheckResult r = CheckWalRates(w);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.evidence.dump();
  EXPECT_DOUBLE_EQ(r.evidence["generation_bytes_per_second"].get<double>(), 10.0 * kMb);
  EXPECT_DOUBLE_EQ(r.evidence["peak_generation_bytes_per_second"].get<double>(), 10.0 * kMb);
}

TEST(WalRates, ReplicaFallingBehindWarns) {
  // Source writes 10 MB/s, target replays 5 MB/s: the lag grows by 5 MB every second.
  std::vector<ReplicationSample> w;
  for (int i = 0; i <= 4; ++i) w.push_back(At(i, i * 10 * kMb, i * 5 * kMb));
  CheckResult r = CheckWalRates(w);
  EXPECT_EQ(r.verdict, Verdict::kWarn) << r.evidence.dump();
  EXPECT_DOUBLE_EQ(r.evidence["replay_bytes_per_second"].get<double>(), 5.0 * kMb);
  EXPECT_DOUBLE_EQ(r.evidence["lag_growth_bytes"].get<double>(), 20.0 * kMb);
}

TEST(WalRates, CatchingUpAfterABurstPasses) {
  // A burst at the start, replay slower at first but the lag shrinks over the window.
  std::vector<ReplicationSample> w = {At(0, 0, 0), At(1, 40 * kMb, 10 * kMb),
                                      At(2, 40 * kMb, 30 * kMb), At(3, 40 * kMb, 40 * kMb)};
  EXPECT_EQ(CheckWalRates(w).verdict, Verdict::kPass);
}

TEST(WalRates, NotReplayingFails) {
  EXPECT_EQ(CheckWalRates({At(0, 0, std::nullopt), At(1, 10, std::nullopt)}).verdict,
            Verdict::kFail);
}

}  // namespace
}  // namespace pgshift
