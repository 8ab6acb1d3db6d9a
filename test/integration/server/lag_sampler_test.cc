// The lag sampler against a real primary and its streaming standby: while the standby keeps
// up, the lag it records is small and the WAL rate follows the writes; a migration that is no
// longer listed gets no samples (its connections are closed); an unreachable target leaves
// the series without a new sample rather than a wrong one; and one cluster that hangs does not
// hold back the samples of the others (a tick samples a few at a time).
#include "server/lag_sampler.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fixture/pg_cluster.h"

namespace pgshift::server {
namespace {

using testing::PgCluster;

TEST(LagSampler, RecordsLagAndWalRateOfAStreamingStandby) {
  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  MetricSeries series;
  bool listed = true;
  LagSampler sampler(series, Clock::Real(), [&] {
    std::vector<SampledMigration> out;
    if (listed) out.push_back({"m", source->Conn(), target->Conn()});
    return out;
  });
  sampler.SampleOnce();
  source->Sql(
      "CREATE TABLE t AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g");
  source->WaitReplayed(*target);
  Clock::Real().SleepFor(std::chrono::milliseconds(200));
  sampler.SampleOnce();
  double now = Clock::Real().WallSeconds();
  nlohmann::json j = series.ToJson("m", now);
  ASSERT_EQ(j["lag_bytes"].size(), 2u) << j;
  EXPECT_LT(j["lag_bytes"].back()[1].get<double>(), 1 << 20) << j;
  ASSERT_EQ(j["wal_bytes_per_s"].size(), 1u) << j;
  EXPECT_GT(j["wal_bytes_per_s"][0][1].get<double>(), 1e5) << j;  // > 4 MB in well under 40 s
  ASSERT_TRUE(series.LatestLag("m", now, 30).has_value());

  const std::string others =
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> "
      "pg_backend_pid()";
  // A closed session's backend exits a moment after the client left.
  auto others_left = [&] {
    for (int i = 0; i < 100 && source->Value(others) != "0"; ++i) {
      Clock::Real().SleepFor(std::chrono::milliseconds(10));
    }
    return source->Value(others);
  };
  // The time of the latest lag sample (samples within 5 s share a slot: the count may not grow).
  auto last_at = [&] {
    return series.ToJson("m", Clock::Real().WallSeconds())["lag_bytes"].back()[0].get<double>();
  };
  double sampled_at = last_at();
  EXPECT_EQ(source->Value(others), "1");  // the sampler's, kept between ticks
  // As when its cutover starts: closed at once, and not reopened by a tick whose list was read
  // before the cutover.
  sampler.Forget("m");
  EXPECT_EQ(others_left(), "0");
  sampler.SampleOnce();
  EXPECT_EQ(source->Value(others), "0");
  EXPECT_EQ(last_at(), sampled_at);
  // Once a list left it out, it is sampled again when listed (e.g. started again).
  listed = false;
  sampler.SampleOnce();
  listed = true;
  sampler.SampleOnce();
  EXPECT_GT(last_at(), sampled_at);
  sampled_at = last_at();
  EXPECT_EQ(source->Value(others), "1");
  // No longer listed: its connections are closed.
  listed = false;
  sampler.SampleOnce();
  EXPECT_EQ(others_left(), "0");
  EXPECT_EQ(last_at(), sampled_at);
}

TEST(LagSampler, AnUnreachableTargetAddsNoSample) {
  auto source = PgCluster::Primary();
  MetricSeries series;
  ConnInfo nowhere =
      *ConnInfo::Parse("host=127.0.0.1 port=1 user=postgres connect_timeout=1", "target");
  LagSampler sampler(series, Clock::Real(), [&] {
    return std::vector<SampledMigration>{{"m", source->Conn(), nowhere}};
  });
  sampler.SampleOnce();
  EXPECT_TRUE(series.ToJson("m", Clock::Real().WallSeconds())["lag_bytes"].empty());
}

// A TCP listener on 127.0.0.1 that never accepts: a client's connection completes in the kernel
// and then hears nothing, as with a cluster whose host hangs. Closing it resets them.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Three migrations, the first on a cluster that hangs: with the tick sampling two at a time,
// the other two get their samples while the first's connection still hangs (its timeout is
// longer than the test waits; only closing the listener ends it). Sampled one after another,
// neither would be sampled before the hang ended, and the wait below would fail.
TEST(LagSampler, OneHangingClusterDoesNotDelayTheOthers) {
  auto source = PgCluster::Primary();
  SilentListener silent;
  ConnInfo hanging = *ConnInfo::Parse(
      "host=127.0.0.1 port=" + std::to_string(silent.port()) + " user=postgres", "source");
  MetricSeries series;
  LagSampler sampler(series, Clock::Real(), [&] {
    return std::vector<SampledMigration>{{"stuck", hanging, hanging},
                                         {"a", source->Conn(), source->Conn()},
                                         {"b", source->Conn(), source->Conn()}};
  });
  sampler.SetConcurrency(2);
  sampler.SetPerClusterTimeout(std::chrono::seconds(240));
  std::atomic<bool> tick_done{false};
  std::thread tick([&] {
    sampler.SampleOnce();
    tick_done = true;
  });
  bool others_sampled = false;
  for (int i = 0; i < 600 && !others_sampled; ++i) {
    others_sampled = series.LastLag("a").has_value() && series.LastLag("b").has_value();
    if (!others_sampled) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const bool tick_was_done = tick_done;
  silent.Close();
  tick.join();
  EXPECT_TRUE(others_sampled) << "the others waited for the hanging cluster";
  EXPECT_FALSE(tick_was_done) << "the hanging cluster did not hang: the test proves nothing";
  EXPECT_FALSE(series.LastLag("stuck").has_value());
}

}  // namespace
}  // namespace pgshift::server
