// PauseLease and its router decorator on a FakeClock: a pause is held from its send time for
// the lease's length; a failed renewal or a gap past the lease loses it (docs/chaos.md finding
// 1), and a renewal answered after the lease ran out confirms nothing, since the proxy may have
// taken it as someone else's pause.
#include "workflow/pause_lease.h"

#include <gtest/gtest.h>

namespace pgshift {
namespace {

using std::chrono::milliseconds;

TEST(PauseLeaseTest, NothingIsHeldBeforeAPause) {
  FakeClock clock;
  PauseLease pause(clock);
  EXPECT_EQ(pause.Held().code(), Code::kUnavailable);
  EXPECT_FALSE(pause.Age().has_value());
}

TEST(PauseLeaseTest, APauseHoldsForItsLeaseFromTheMomentItWasSent) {
  FakeClock clock;
  PauseLease pause(clock);
  const auto sent = clock.Now();
  clock.Advance(milliseconds(300));  // the answer took this long
  pause.OnPaused(sent, milliseconds(4000));
  EXPECT_TRUE(pause.Held().ok());
  clock.Advance(milliseconds(3699));
  EXPECT_TRUE(pause.Held().ok());
  clock.Advance(milliseconds(1));
  Status lapsed = pause.Held();
  EXPECT_EQ(lapsed.code(), Code::kUnavailable);
  EXPECT_NE(lapsed.message().find("4000 ms pause lease"), std::string::npos) << lapsed.message();
}

TEST(PauseLeaseTest, ARenewalAnsweredInTimeExtendsIt) {
  FakeClock clock;
  PauseLease pause(clock);
  pause.OnPaused(clock.Now(), milliseconds(4000));
  clock.Advance(milliseconds(3000));
  const auto sent = clock.Now();
  clock.Advance(milliseconds(500));
  pause.OnRenewed(sent, clock.Now(), milliseconds(4000));
  clock.Advance(milliseconds(3000));  // 6.5 s after the pause, 3.5 s after the renewal
  EXPECT_TRUE(pause.Held().ok());
}

TEST(PauseLeaseTest, ARenewalAnsweredAfterTheLeaseRanOutConfirmsNothing) {
  FakeClock clock;
  PauseLease pause(clock);
  pause.OnPaused(clock.Now(), milliseconds(4000));
  clock.Advance(milliseconds(3900));
  const auto sent = clock.Now();
  clock.Advance(milliseconds(200));  // answered 4.1 s after the pause: perhaps another's pause
  pause.OnRenewed(sent, clock.Now(), milliseconds(4000));
  EXPECT_EQ(pause.Held().code(), Code::kUnavailable);
}

TEST(PauseLeaseTest, AFailedRenewalLosesItUntilTheNextPause) {
  FakeClock clock;
  PauseLease pause(clock);
  pause.OnPaused(clock.Now(), milliseconds(4000));
  pause.OnRenewFailed(clock.Now(), "not paused (its lease may have lapsed)");
  Status lost = pause.Held();
  EXPECT_EQ(lost.code(), Code::kUnavailable);
  EXPECT_NE(lost.message().find("its lease may have lapsed"), std::string::npos);
  pause.OnPaused(clock.Now(), milliseconds(4000));
  EXPECT_TRUE(pause.Held().ok());
}

TEST(PauseLeaseTest, ARenewalSentBeforeANewerPauseCannotLoseIt) {
  FakeClock clock;
  PauseLease pause(clock);
  const auto renewal_sent = clock.Now();
  clock.Advance(milliseconds(10));
  pause.OnPaused(clock.Now(), milliseconds(4000));
  pause.OnRenewFailed(renewal_sent, "not paused");
  EXPECT_TRUE(pause.Held().ok());
}

TEST(PauseLeaseTest, AResumeReleasesIt) {
  FakeClock clock;
  PauseLease pause(clock);
  pause.OnPaused(clock.Now(), milliseconds(4000));
  pause.OnReleased();
  EXPECT_EQ(pause.Held().code(), Code::kUnavailable);
}

class CountingRouter : public Router {
 public:
  Status Pause(milliseconds, milliseconds) override { return pause_result; }
  Status Renew(milliseconds) override {
    ++renewals;
    return renew_result;
  }
  Status Switch(const Endpoint&, uint64_t) override { return Status::Ok(); }
  Status Resume() override { return Status::Ok(); }
  std::string Describe() const override { return "proxies of cluster appdb"; }
  Status pause_result, renew_result;
  int renewals = 0;
};

TEST(PauseLeaseRouterTest, ReportsPausesRenewalsAndResumes) {
  FakeClock clock;
  PauseLease pause(clock);
  auto inner = std::make_unique<CountingRouter>();
  CountingRouter* fake = inner.get();
  PauseLeaseRouter router(std::move(inner), pause, clock);
  ASSERT_TRUE(router.Pause(milliseconds(5000), milliseconds(4000)).ok());
  EXPECT_TRUE(pause.Held().ok());
  ASSERT_TRUE(router.Renew(milliseconds(4000)).ok());
  fake->renew_result = Aborted("not paused (its lease may have lapsed)");
  EXPECT_FALSE(router.Renew(milliseconds(4000)).ok());
  EXPECT_EQ(pause.Held().code(), Code::kUnavailable);
  ASSERT_TRUE(router.Pause(milliseconds(5000), milliseconds(4000)).ok());
  EXPECT_TRUE(pause.Held().ok());
  ASSERT_TRUE(router.Resume().ok());
  EXPECT_EQ(pause.Held().code(), Code::kUnavailable);
  fake->pause_result = FailedPrecondition("pause not acknowledged");
  EXPECT_FALSE(router.Pause(milliseconds(5000), milliseconds(4000)).ok());
  EXPECT_EQ(pause.Held().code(), Code::kUnavailable);
}

TEST(PauseLeaseRouterTest, DoesNotRenewAPauseItNoLongerHolds) {
  FakeClock clock;
  PauseLease pause(clock);
  auto inner = std::make_unique<CountingRouter>();
  CountingRouter* fake = inner.get();
  PauseLeaseRouter router(std::move(inner), pause, clock);
  // Never paused by this process (a restart): nothing to renew.
  EXPECT_EQ(router.Renew(milliseconds(4000)).code(), Code::kUnavailable);
  ASSERT_TRUE(router.Pause(milliseconds(5000), milliseconds(4000)).ok());
  clock.Advance(milliseconds(6000));  // frozen past the lease: the proxy may hold a new pause
  Status renewed = router.Renew(milliseconds(4000));
  EXPECT_EQ(renewed.code(), Code::kUnavailable);
  EXPECT_NE(renewed.message().find("proxies of cluster appdb"), std::string::npos)
      << renewed.message();
  EXPECT_EQ(fake->renewals, 0) << "renewing could extend somebody else's pause";
  EXPECT_EQ(pause.Held().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace pgshift
