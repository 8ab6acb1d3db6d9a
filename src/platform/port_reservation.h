// Choosing TCP ports on 127.0.0.1 for the servers pgshift starts on this host (local
// targets, the demo, the fixtures and benches): ports no other pgshift process holds and
// no outgoing connection can take in the meantime.
#pragma once

#include "common/status.h"

namespace pgshift {

// A TCP port on 127.0.0.1 that nothing listens on and no other pgshift process on this host
// holds. It is drawn from below the kernel's ephemeral range (ip_local_port_range), so an
// outgoing connection cannot take it between this call and the server's bind (a port the
// kernel picks itself, port 0, can be given to the next connect()). A lock file under
// /tmp/pgshift-ports keeps concurrent processes apart; it lasts as long as the process.
Result<int> ReservePort();

// The ports ReservePort draws from, [first, last], given the ephemeral range read from
// /proc/sys/net/ipv4/ip_local_port_range: 20000 up to just below it, or above it when it
// starts too low to leave room.
struct PortWindow {
  int first = 0;
  int last = 0;
};
PortWindow ReservablePorts(int ephemeral_low, int ephemeral_high);

}  // namespace pgshift
