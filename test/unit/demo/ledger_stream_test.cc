// Parsing a test_decoding stream of the demo ledger and judging its delivery (I4's check).
#include "demo/ledger_stream.h"

#include <gtest/gtest.h>

namespace pgshift::demo {
namespace {

std::string Insert(int client, int64_t seq) {
  return "table public.pgshift_demo_ledger: INSERT: client[integer]:" + std::to_string(client) +
         " seq[bigint]:" + std::to_string(seq) +
         " amount[integer]:-12 at[timestamp with time zone]:'2026-11-24 08:00:00+00'\n";
}

TEST(LedgerStream, ParsesInsertsAndFenceMessagesAndIgnoresTheRest) {
  std::string text = "BEGIN 730\n" +
                     std::string(
                         "table public.pgshift_demo_accounts: UPDATE: client[integer]:0 "
                         "balance[bigint]:5\n") +
                     Insert(0, 1) + "COMMIT 730\n" +
                     "message: transactional: 0 prefix: pgshift.fence, sz: 7 content:cutover\n" +
                     "pg_recvlogical: error: unexpected termination of replication stream\n" +
                     Insert(2, 10);
  LedgerStream s = ParseLedgerStream(text);
  ASSERT_EQ(s.inserts.size(), 2u);
  EXPECT_EQ(s.inserts[0], (LedgerCommit{0, 1}));
  EXPECT_EQ(s.inserts[1], (LedgerCommit{2, 10}));
  EXPECT_EQ(s.fence_labels, std::vector<std::string>{"cutover"});
}

TEST(LedgerStream, APartialLastLineIsNotCounted) {
  std::string text = Insert(1, 123);
  LedgerStream s = ParseLedgerStream(text.substr(0, text.find("seq[bigint]:") + 14));
  EXPECT_TRUE(s.inserts.empty());
}

TEST(CheckDelivery, CompleteOrderedStreamIsOkAndExtraRowsAreOnlyCounted) {
  LedgerStream s = ParseLedgerStream(Insert(0, 1) + Insert(1, 1) + Insert(0, 2) + Insert(0, 3));
  DeliveryReport r = CheckDelivery(s, {{0, 1}, {0, 3}, {1, 1}});
  EXPECT_TRUE(r.ok()) << r.first_problem;
  EXPECT_EQ(r.delivered, 4u);
  EXPECT_EQ(r.unacknowledged, 1u);  // (0,2) committed, acknowledgement lost
}

TEST(CheckDelivery, FindsMissingDuplicatedAndOutOfOrderRows) {
  LedgerStream s = ParseLedgerStream(Insert(0, 2) + Insert(0, 1) + Insert(0, 2));
  DeliveryReport r = CheckDelivery(s, {{0, 1}, {0, 2}, {0, 3}});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.missing, 1u);
  EXPECT_EQ(r.duplicated, 1u);
  EXPECT_EQ(r.out_of_order, 1u);
  EXPECT_EQ(r.first_problem, "client 0 seq 1 delivered after seq 2");
}

}  // namespace
}  // namespace pgshift::demo
