// ReservePort hands out ports outside the kernel's ephemeral range, each one free and
// distinct, so a server started on one cannot lose it to an outgoing connection.
#include "platform/port_reservation.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>

namespace pgshift {
namespace {

TEST(ReservablePorts, LieBelowTheDefaultEphemeralRange) {
  PortWindow w = ReservablePorts(32768, 60999);
  EXPECT_EQ(w.first, 20000);
  EXPECT_EQ(w.last, 32767);
}

TEST(ReservablePorts, MoveAboveAnEphemeralRangeThatStartsLow) {
  PortWindow w = ReservablePorts(10000, 50000);
  EXPECT_EQ(w.first, 50001);
  EXPECT_EQ(w.last, 65535);
}

TEST(ReservePort, GivesDistinctFreePortsOutsideThisHostsEphemeralRange) {
  int low = 32768, high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  std::set<int> seen;
  for (int i = 0; i < 20; ++i) {
    auto port = ReservePort();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    EXPECT_TRUE(*port < low || *port > high) << *port << " is in " << low << "-" << high;
    EXPECT_TRUE(seen.insert(*port).second) << "port " << *port << " handed out twice";
    // Nothing listens there: a server can bind it.
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(*port));
    EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "port " << *port;
    close(s);
  }
}

}  // namespace
}  // namespace pgshift
