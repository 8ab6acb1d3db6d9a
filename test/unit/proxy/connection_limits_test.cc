// ConnectionLimits: the total cap, the per-address cap on pending handshakes, slots given back.
#include "proxy/connection_limits.h"

#include <gtest/gtest.h>

namespace pgshift::proxy {
namespace {

using Refusal = ConnectionLimits::Refusal;

TEST(ConnectionLimits, CapsConnectionsInAllAndGivesSlotsBack) {
  ConnectionLimits limits(/*max_connections=*/2, /*max_pending_per_address=*/10);
  ConnectionLimits::Slot a, b, c;
  EXPECT_EQ(limits.TryAdmit(1, a), Refusal::kNone);
  EXPECT_EQ(limits.TryAdmit(2, b), Refusal::kNone);
  EXPECT_EQ(limits.TryAdmit(3, c), Refusal::kTooManyConnections);
  EXPECT_FALSE(c.held());
  a.Authenticated();  // an authenticated connection still counts in all
  EXPECT_EQ(limits.TryAdmit(3, c), Refusal::kTooManyConnections);
  b.Release();
  EXPECT_EQ(limits.TryAdmit(3, c), Refusal::kNone);
  EXPECT_EQ(limits.connections(), 2);
  {
    ConnectionLimits::Slot moved = std::move(c);
    EXPECT_FALSE(c.held());
  }  // destroyed: given back
  EXPECT_EQ(limits.connections(), 1);
}

TEST(ConnectionLimits, CapsPendingHandshakesPerAddressOnly) {
  ConnectionLimits limits(/*max_connections=*/100, /*max_pending_per_address=*/2);
  ConnectionLimits::Slot a, b, c, other;
  EXPECT_EQ(limits.TryAdmit(7, a), Refusal::kNone);
  EXPECT_EQ(limits.TryAdmit(7, b), Refusal::kNone);
  EXPECT_EQ(limits.TryAdmit(7, c), Refusal::kTooManyPendingFromAddress);
  EXPECT_EQ(limits.TryAdmit(8, other), Refusal::kNone);  // another address is not affected
  a.Authenticated();
  EXPECT_EQ(limits.pending_from(7), 1);
  EXPECT_EQ(limits.TryAdmit(7, c), Refusal::kNone);
  a.Release();  // was authenticated: the pending count does not move
  EXPECT_EQ(limits.pending_from(7), 2);
  b.Release();
  c.Release();
  EXPECT_EQ(limits.pending_from(7), 0);
  EXPECT_EQ(limits.connections(), 1);
}

}  // namespace
}  // namespace pgshift::proxy
