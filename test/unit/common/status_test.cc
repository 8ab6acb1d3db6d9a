#include "common/status.h"

#include <gtest/gtest.h>

#include "pg/lsn.h"

namespace pgshift {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Status, PropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "3 is odd");
  EXPECT_EQ(r.status().Context("source").message(), "source: 3 is odd");
}

TEST(Lsn, ParsesAndPrintsPostgresForm) {
  auto l = Lsn::Parse("16/B374D848");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->value, (uint64_t{0x16} << 32) | 0xB374D848);
  EXPECT_EQ(l->ToString(), "16/B374D848");
  EXPECT_FALSE(Lsn::Parse("16B374D848").ok());
  EXPECT_FALSE(Lsn::Parse("x/1").ok());
  EXPECT_EQ(BytesBetween(*Lsn::Parse("0/10"), *Lsn::Parse("0/30")), 0x20u);
}

}  // namespace
}  // namespace pgshift
