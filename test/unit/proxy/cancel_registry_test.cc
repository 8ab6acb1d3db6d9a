// CancelRegistry: keys come from an injectable random source; when it fails (or is not
// random), issuing fails with a Status instead of looping under the registry's lock.
#include "proxy/cancel_registry.h"

#include <gtest/gtest.h>

#include <cstring>

namespace pgshift::proxy {
namespace {

CancelTarget Target() { return CancelTarget{.cluster = "orders", .pid = 42, .secret = 7}; }

TEST(CancelRegistry, IssuesDistinctPositiveKeysThatFindTheirTarget) {
  CancelRegistry registry;
  auto a = registry.Issue(Target());
  auto b = registry.Issue(Target());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(a->pid, 0u);
  EXPECT_LT(a->pid, 0x80000000u);
  EXPECT_FALSE(a->pid == b->pid && a->secret == b->secret);
  auto found = registry.Find(*a);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->pid, 42u);
  registry.Remove(*a);
  EXPECT_FALSE(registry.Find(*a).has_value());
}

TEST(CancelRegistry, AFailingRandomSourceFailsTheIssueInsteadOfSpinning) {
  int calls = 0;
  CancelRegistry registry([&](unsigned char*, size_t) {
    ++calls;
    return false;
  });
  auto key = registry.Issue(Target());
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::kInternal);
  EXPECT_NE(key.status().message().find("random source failed"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST(CancelRegistry, ASourceThatRepeatsItselfIsGivenUpOn) {
  // Always the same bytes: the first key is issued, the second can never be.
  CancelRegistry registry([](unsigned char* out, size_t size) {
    std::memset(out, 0x5a, size);
    return true;
  });
  ASSERT_TRUE(registry.Issue(Target()).ok());
  auto second = registry.Issue(Target());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("repeating"), std::string::npos);
}

TEST(CancelRegistry, AZeroPidIsNeverIssued) {
  CancelRegistry registry([](unsigned char* out, size_t size) {
    std::memset(out, 0, size);
    return true;
  });
  EXPECT_FALSE(registry.Issue(Target()).ok());
}

}  // namespace
}  // namespace pgshift::proxy
