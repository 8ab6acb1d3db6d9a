// Connection caps before authentication, through a real proxy: over max_client_connections
// or over an address's pending handshakes a new connection is answered 53300 and counted;
// out of file descriptors the proxy backs off instead of spinning and serves again once
// descriptors free up.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "proxy/wire_format.h"
#include "proxy_harness.h"
#include "proxy_process.h"

namespace pgshift::testing {
namespace {

std::string SslRequest() {
  std::string s;
  proxy::wire::AppendU32(s, 8);
  proxy::wire::AppendU32(s, 80877103);
  return s;
}

// A client the proxy accepted and that stays in its handshake (it never starts TLS).
std::unique_ptr<RawClient> PendingClient(int port) {
  auto c = std::make_unique<RawClient>(port);
  EXPECT_TRUE(c->Send(SslRequest()));
  EXPECT_EQ(c->ReadExactly(1), "S");
  return c;
}

Result<PgConnection> ConnectWithin(const std::string& conninfo, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    ASSIGN_OR_RETURN(ConnInfo ci, ConnInfo::Parse(conninfo, "proxy"));
    auto c = PgConnection::Connect(ci);
    if (c.ok() || std::chrono::steady_clock::now() > deadline) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST(ProxyConnectionLimits, ConnectionOverMaxClientConnectionsIsRefusedAndCounted) {
  HarnessOptions options;
  options.extra_config = "\n[proxy]\nmax_client_connections = 3\n";
  ProxyHarness h(options);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 3; ++i) held.push_back(PendingClient(h.proxy->port()));

  RawClient over(h.proxy->port());
  std::string said = over.ReadUntilClosed();
  EXPECT_NE(said.find("53300"), std::string::npos) << said;
  EXPECT_TRUE(over.closed());
  // libpq is refused too (how it words an error answering its SSLRequest is its own).
  auto refused = h.Connect();
  EXPECT_FALSE(refused.ok());
  EXPECT_GE(h.Metric("pgshift_proxy_client_connections_refused_total", ""), 2);

  held.clear();  // their slots come back as the proxy sees them close
  Result<PgConnection> served = Unavailable("not tried");
  for (int i = 0; i < 100 && !served.ok(); ++i) {
    served = h.Connect();
    if (!served.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_EQ(*served->QueryValue("select 1"), "1");
}

// Authenticated sessions do not count as pending: one address may hold many sessions, but not
// many connections that never finish their handshake.
TEST(ProxyConnectionLimits, PendingHandshakesPerAddressAreCapped) {
  HarnessOptions options;
  options.extra_config = "\n[proxy]\nmax_pending_handshakes_per_address = 2\n";
  ProxyHarness h(options);
  std::vector<PgConnection> sessions;
  for (int i = 0; i < 4; ++i) {
    auto c = h.Connect();
    ASSERT_TRUE(c.ok()) << i << ": " << c.status().ToString();
    sessions.push_back(std::move(*c));
  }
  std::vector<std::unique_ptr<RawClient>> pending;
  for (int i = 0; i < 2; ++i) pending.push_back(PendingClient(h.proxy->port()));
  RawClient over(h.proxy->port());
  std::string said = over.ReadUntilClosed();
  EXPECT_NE(said.find("53300"), std::string::npos) << said;
  EXPECT_EQ(h.Metric("pgshift_proxy_client_connections_refused_total", ""), 1);
  for (auto& s : sessions) EXPECT_EQ(*s.QueryValue("select 1"), "1");

  pending.clear();
  Result<PgConnection> served = Unavailable("not tried");
  for (int i = 0; i < 100 && !served.ok(); ++i) {
    served = h.Connect();
    if (!served.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(served.ok()) << served.status().ToString();
}

// With its descriptors used up (RLIMIT_NOFILE lowered for the proxy process) and clients
// still connecting, the level-triggered listener must not keep the loop awake: the proxy's
// CPU time stays a small part of the wall time (a spinning loop takes a whole core). This is
// a spin check with a generous bound, not a timing test.
TEST(ProxyConnectionLimits, OutOfFileDescriptorsTheProxyDoesNotSpinAndServesAgain) {
  ProxyHarness h;
  ProxyProcess p(h, /*max_open_files=*/64);
  ASSERT_TRUE(p.started());
  std::vector<std::unique_ptr<RawClient>> hogs;
  for (int i = 0; i < 100; ++i) hogs.push_back(std::make_unique<RawClient>(p.port()));

  double cpu_before = p.CpuSeconds();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<RawClient>> waiting;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    waiting.push_back(std::make_unique<RawClient>(p.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double cpu = p.CpuSeconds() - cpu_before;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(cpu, 0.4 * wall) << "the proxy used " << cpu << " s of CPU in " << wall
                             << " s while out of file descriptors";

  hogs.clear();
  waiting.clear();
  auto served = ConnectWithin(p.ConnString(h.pki.Client("svc-orders")), std::chrono::seconds(20));
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_EQ(*served->QueryValue("select 1"), "1");
}

}  // namespace
}  // namespace pgshift::testing
