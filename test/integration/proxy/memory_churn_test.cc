// Memory under connection churn, on a real `pgshift proxy` process: rounds of hundreds of
// mutual-TLS sessions opened at once and closed must not ratchet the process's resident
// memory up (glibc keeps freed memory in its arenas unless it is given back).
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <iostream>
#include <thread>
#include <vector>

#include "proxy_harness.h"
#include "proxy_process.h"

namespace pgshift::testing {
namespace {

// Opens `n` connections at once and drives each through TLS (client certificate) to its
// startup packet: the cluster is paused, so the proxy admits each and holds it there without
// a backend (the server's max_connections does not bound the round). False on a failure.
bool OpenRound(const std::string& conninfo, int n, std::vector<PGconn*>& conns) {
  std::vector<PostgresPollingStatusType> state;
  for (int i = 0; i < n; ++i) {
    conns.push_back(PQconnectStart(conninfo.c_str()));
    state.push_back(PGRES_POLLING_WRITING);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (PQstatus(conns[i]) == CONNECTION_BAD) {
        ADD_FAILURE() << "connection " << i << ": " << PQerrorMessage(conns[i]);
        return false;
      }
      if (PQstatus(conns[i]) == CONNECTION_AWAITING_RESPONSE) continue;  // startup sent
      short events = state[i] == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      fds.push_back({PQsocket(conns[i]), events, 0});
      which.push_back(i);
    }
    if (fds.empty()) return true;
    if (poll(fds.data(), fds.size(), 100) < 0) return false;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents) state[which[k]] = PQconnectPoll(conns[which[k]]);
    }
  }
  ADD_FAILURE() << "the round did not open within 60 s";
  return false;
}

TEST(ProxyMemory, ResidentMemoryStaysFlatUnderConnectionChurn) {
  HarnessOptions options;
  // Every connection of a round is in its handshake at once, from one address.
  options.extra_config = "\n[proxy]\nmax_pending_handshakes_per_address = 2000\n";
  ProxyHarness h(options);
  ProxyProcess p(h);
  ASSERT_TRUE(p.started());
  auto paused =
      p.Admin("POST", "/v1/clusters/orders/pause", R"({"deadline_ms":5000,"lease_ms":600000})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  std::string conninfo = p.ConnString(h.pki.Client("svc-orders"));
  int files_idle = p.OpenFiles();
  constexpr int kRounds = 4, kSessions = 300;
  std::vector<long> rss_after;
  long peak = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<PGconn*> conns;
    bool opened = OpenRound(conninfo, kSessions, conns);
    peak = std::max(peak, p.RssKib());
    for (PGconn* c : conns) PQfinish(c);
    ASSERT_TRUE(opened);
    // The proxy has closed them all once its descriptors are back to where they were.
    for (int i = 0; i < 500 && p.OpenFiles() > files_idle; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_LE(p.OpenFiles(), files_idle);
    // Memory is given back by a sweep within about a second: take the lowest seen in 3 s.
    long low = p.RssKib();
    for (int i = 0; i < 30; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      low = std::min(low, p.RssKib());
    }
    rss_after.push_back(low);
    std::cout << "round " << round + 1 << ": peak " << peak / 1024 << " MiB, after closing "
              << low / 1024 << " MiB\n";
  }
  // Generous: a ratchet of several MiB per round fails it, noise does not.
  EXPECT_LE(rss_after.back(), rss_after.front() + 8 * 1024)
      << "resident memory after the first round " << rss_after.front() / 1024
      << " MiB, after the last " << rss_after.back() / 1024 << " MiB";
  RecordProperty("rss_after_first_round_kib", std::to_string(rss_after.front()));
  RecordProperty("rss_after_last_round_kib", std::to_string(rss_after.back()));
}

}  // namespace
}  // namespace pgshift::testing
