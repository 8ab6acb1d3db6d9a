// LoopbackHost: whether a listen address stays on this machine. The proxy's admin API and the
// control plane both refuse plain HTTP beyond loopback, so they must agree on what loopback
// is: an address parsed as such, never a name that merely starts with "127." (which DNS can
// point anywhere).
#pragma once

#include <string>

namespace pgshift {

// True for "localhost", an IPv4 address in 127.0.0.0/8 and the IPv6 loopback ("::1",
// "[::1]"); false for every other name or address.
bool IsLoopbackHost(const std::string& host);

}  // namespace pgshift
