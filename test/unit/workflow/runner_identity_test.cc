// The local liveness check behind an immediate takeover after kill -9: a live process is not
// dead, an exited one is, a recycled pid (another start time) is, another host is never judged.
#include "workflow/runner_identity.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pgshift {
namespace {

TEST(RunnerIdentity, OwnersNameThisHostAndProcessAndDifferPerEngine) {
  std::string a = NewRunnerOwner(), b = NewRunnerOwner();
  EXPECT_NE(a, b);
  EXPECT_NE(a.find(":" + std::to_string(getpid()) + ":"), std::string::npos) << a;
  EXPECT_FALSE(RunnerLiveness::Real().IsDeadLocalRunner(a));
}

TEST(RunnerIdentity, AnExitedProcessIsDeadARecycledPidTooAnotherHostNever) {
  std::string me = NewRunnerOwner();
  std::string host = me.substr(0, me.find(':'));
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  const auto& live = RunnerLiveness::Real();
  EXPECT_TRUE(live.IsDeadLocalRunner(host + ":" + std::to_string(child) + ":1/1"));
  // Our own pid with another start time: the runner that had it is gone.
  EXPECT_TRUE(live.IsDeadLocalRunner(host + ":" + std::to_string(getpid()) + ":1/1"));
  EXPECT_FALSE(live.IsDeadLocalRunner("some-other-host:" + std::to_string(child) + ":1/1"));
  EXPECT_FALSE(live.IsDeadLocalRunner("garbage"));
  EXPECT_FALSE(live.IsDeadLocalRunner(""));
}

}  // namespace
}  // namespace pgshift
