// CommitChecker: writer threads, acknowledgement bookkeeping and the lost-commit count.
#include "demo/commit_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "pg/connection.h"

namespace pgshift::demo {
namespace {

constexpr auto kRetryPause = std::chrono::milliseconds(5);

ConnInfo AsWriter(const ConnInfo& info) {
  return info.With("application_name", "pgshift-demo-writer");
}

// One round trip: BEGIN, account update, ledger insert, COMMIT in a single simple query.
std::string TransactionSql(int client, int64_t seq) {
  int amount = static_cast<int>((seq * 7919 + client * 104729) % 1999) - 999;
  return fmt::format(
      "BEGIN; UPDATE {0} SET balance = balance + {2} WHERE client = {3}; "
      "INSERT INTO {1} (client, seq, amount, at) VALUES ({3}, {4}, {2}, now()); COMMIT;",
      kAccountsTable, kLedgerTable, amount, client, seq);
}

}  // namespace

Status CreateLedgerTables(const ConnInfo& server, int clients) {
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(server));
  return c.Exec(fmt::format(
      "SET client_min_messages = warning; "
      "CREATE TABLE IF NOT EXISTS {0} (client int, seq bigint, amount int NOT NULL, "
      "at timestamptz NOT NULL, PRIMARY KEY (client, seq)); "
      "CREATE TABLE IF NOT EXISTS {1} (client int PRIMARY KEY, balance bigint NOT NULL); "
      "INSERT INTO {1} SELECT g, 0 FROM generate_series(0, {2}) g ON CONFLICT DO NOTHING;",
      kLedgerTable, kAccountsTable, clients - 1));
}

CommitChecker::CommitChecker(EndpointFn endpoint, Options options)
    : endpoint_(std::move(endpoint)), options_(options) {}

Result<std::unique_ptr<CommitChecker>> CommitChecker::Start(EndpointFn endpoint, Options options) {
  if (options.clients < 1) {
    return InvalidArgument("commit checker: clients must be at least 1, got " +
                           std::to_string(options.clients));
  }
  ConnInfo first = endpoint();
  RETURN_IF_ERROR(CreateLedgerTables(first, options.clients));
  // Continue after earlier runs' rows, so keys never collide.
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(first));
  ASSIGN_OR_RETURN(
      PgResult r,
      c.Query(fmt::format("SELECT client, max(seq) AS seq FROM {} GROUP BY client", kLedgerTable)));
  std::vector<int64_t> first_seq(options.clients, 0);
  for (int i = 0; i < r.rows(); ++i) {
    int client = static_cast<int>(r.GetInt(i, "client"));
    if (client >= 0 && client < options.clients) first_seq[client] = r.GetInt(i, "seq");
  }
  std::unique_ptr<CommitChecker> checker(new CommitChecker(std::move(endpoint), options));
  checker->started_ = std::chrono::steady_clock::now();
  for (int i = 0; i < options.clients; ++i) {
    checker->threads_.emplace_back(
        [p = checker.get(), i, s = first_seq[i]] { p->RunClient(i, s); });
  }
  return checker;
}

CommitChecker::~CommitChecker() { Stop(); }

void CommitChecker::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void CommitChecker::RunClient(int client, int64_t seq) {
  std::optional<PgConnection> conn;
  bool connected_before = false;
  while (!stop_) {
    if (!conn) {
      auto c = PgConnection::Connect(AsWriter(endpoint_()));
      if (!c.ok()) {
        std::this_thread::sleep_for(kRetryPause);
        continue;
      }
      conn.emplace(std::move(c).value());
      // The server's goodbye on a terminated session is expected here; keep it off stderr.
      PQsetNoticeProcessor(
          conn->raw(), [](void*, const char*) {}, nullptr);
      if (connected_before) {
        std::lock_guard<std::mutex> l(mu_);
        ++report_.reconnects;
      }
      connected_before = true;
    }
    ++seq;
    if (conn->Exec(TransactionSql(client, seq)).ok()) {
      RecordCommit(client, seq);
    } else {
      {
        std::lock_guard<std::mutex> l(mu_);
        ++report_.failed_transactions;
      }
      conn.reset();  // the endpoint may have moved; reconnect through endpoint()
      std::this_thread::sleep_for(kRetryPause);
    }
    if (options_.think.count() > 0) std::this_thread::sleep_for(options_.think);
  }
}

void CommitChecker::RecordCommit(int client, int64_t seq) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> l(mu_);
  acknowledged_.push_back({client, seq});
  ++report_.commits;
  if (last_ack_) {
    double gap = std::chrono::duration<double, std::milli>(now - *last_ack_).count();
    if (gap > report_.max_commit_gap_ms) {
      report_.max_commit_gap_ms = gap;
      double at_s = std::chrono::duration<double>(*last_ack_ - started_).count();
      report_.gap_at =
          fmt::format("{:.3f} s into the run, after client {} seq {}, until client {} seq {}", at_s,
                      last_commit_->client, last_commit_->seq, client, seq);
    }
  }
  last_ack_ = now;
  last_commit_ = LedgerCommit{client, seq};
}

CommitChecker::Report CommitChecker::report() const {
  std::lock_guard<std::mutex> l(mu_);
  return report_;
}

std::vector<LedgerCommit> CommitChecker::acknowledged() const {
  std::vector<LedgerCommit> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    out = acknowledged_;
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<uint64_t> CommitChecker::CountLostCommits(const ConnInfo& final_endpoint) const {
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(final_endpoint));
  ASSIGN_OR_RETURN(PgResult r, c.Query(fmt::format("SELECT client, seq FROM {}", kLedgerTable)));
  std::set<LedgerCommit> present;
  for (int i = 0; i < r.rows(); ++i) {
    present.insert({static_cast<int>(r.GetInt(i, "client")), r.GetInt(i, "seq")});
  }
  uint64_t lost = 0;
  for (const LedgerCommit& a : acknowledged()) lost += present.count(a) ? 0 : 1;
  return lost;
}

}  // namespace pgshift::demo
