// A writer straight to the servers' addresses, around the proxy (see around_writer.h).
#include "around_writer.h"

#include <fmt/format.h>

#include <chrono>

#include "pg/connection.h"

namespace pgshift::chaos {

AroundWriter::AroundWriter(std::vector<ConnInfo> addresses) : per_address_(addresses.size(), 0) {
  for (size_t i = 0; i < addresses.size(); ++i) {
    threads_.emplace_back([this, i, a = addresses[i]] { Run(static_cast<int>(i), a); });
  }
}

AroundWriter::~AroundWriter() { Stop(); }

void AroundWriter::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::vector<demo::LedgerCommit> AroundWriter::acknowledged() const {
  std::lock_guard<std::mutex> l(mu_);
  return acked_;
}

std::vector<uint64_t> AroundWriter::acknowledged_per_address() const {
  std::lock_guard<std::mutex> l(mu_);
  return per_address_;
}

void AroundWriter::Run(int index, ConnInfo where) {
  const int client = kAroundClientBase + index;
  int64_t seq = 0;
  std::optional<PgConnection> c;
  while (!stop_) {
    if (!c) {
      auto got = PgConnection::Connect(
          where.With("application_name", "chaos-around-writer").With("connect_timeout", "2"));
      if (!got.ok()) {
        ++refused_;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      c.emplace(std::move(got).value());
    }
    ++seq;  // one per attempt: a commit whose acknowledgement was lost is an extra row
    Status s =
        c->Exec(fmt::format("INSERT INTO {} (client, seq, amount, at) VALUES ({}, {}, 0, now())",
                            demo::kLedgerTable, client, seq));
    if (!s.ok()) {
      ++refused_;
      c.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    acked_.push_back({client, seq});
    ++per_address_[index];
  }
}

}  // namespace pgshift::chaos
