// IsLoopbackHost: addresses parsed, never a name that only looks like one.
#include "common/loopback_host.h"

#include <gtest/gtest.h>

namespace pgshift {
namespace {

TEST(LoopbackHost, LoopbackAddressesAndLocalhost) {
  for (const char* h : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(h)) << h;
  }
}

TEST(LoopbackHost, EverythingElseIsBeyondLoopback) {
  // "127.example.com" is a name DNS may point anywhere: a prefix test would call it loopback.
  for (const char* h :
       {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "127.example.com", "example.com", "", "[::2]"}) {
    EXPECT_FALSE(IsLoopbackHost(h)) << h;
  }
}

}  // namespace
}  // namespace pgshift
