#include "pg/lsn.h"

#include <gtest/gtest.h>

namespace pgshift {
namespace {

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
