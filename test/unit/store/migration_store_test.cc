#include "store/migration_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "fixture/temp_dir.h"

namespace pgshift {
namespace {

class MigrationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = MigrationStore::Open(dir_.path() + "/s.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    MigrationRecord r;
    r.name = "m";
    r.phase = 1;
    r.spec = {{"source", "host=x password=hunter2"}};
    ASSERT_TRUE(store_->Create(r, 100).ok());
  }
  testing::TempDir dir_;
  std::unique_ptr<MigrationStore> store_;
};

TEST_F(MigrationStoreTest, TransitionMovesPhaseMergesDataAndWritesTheEvent) {
  ASSERT_TRUE(store_->ApplyTransition("m", 1, 2, "because", {{"a", 1}}, 101).ok());
  ASSERT_TRUE(store_->ApplyTransition("m", 2, 3, "then", {{"b", 2}}, 102).ok());
  auto r = store_->Get("m");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->phase, 3);
  EXPECT_EQ(r->data["a"], 1);
  EXPECT_EQ(r->data["b"], 2);
  auto ev = store_->Events("m");
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[1].from_phase, 2);
  EXPECT_EQ((*ev)[1].to_phase, 3);
  EXPECT_EQ((*ev)[1].reason, "then");
}

TEST_F(MigrationStoreTest, ALostRaceIsAbortedAndChangesNothing) {
  ASSERT_TRUE(store_->ApplyTransition("m", 1, 2, "first", {}, 101).ok());
  Status st = store_->ApplyTransition("m", 1, 5, "stale", {{"x", 1}}, 102);
  EXPECT_EQ(st.code(), Code::kAborted);
  EXPECT_EQ(store_->Get("m")->phase, 2);
  EXPECT_FALSE(store_->Get("m")->data.contains("x"));
  EXPECT_EQ(store_->Events("m")->size(), 1u);
  EXPECT_EQ(store_->MergeData("m", 1, {{"y", 1}}, 103).code(), Code::kAborted);
}

TEST_F(MigrationStoreTest, DuplicateAndUnknownNamesAreClear) {
  MigrationRecord r;
  r.name = "m";
  EXPECT_EQ(store_->Create(r, 1).code(), Code::kAlreadyExists);
  EXPECT_EQ(store_->Get("zz").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->RequestCutover("zz", 1).code(), Code::kNotFound);
  ASSERT_TRUE(store_->RequestCutover("m", 1).ok());
  EXPECT_TRUE(store_->Get("m")->cutover_requested);
}

TEST_F(MigrationStoreTest, TheFileIsReadableByItsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(stat((dir_.path() + "/s.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST(MigrationStoreOpen, NotAStoreIsInvalidArgumentNamingThePath) {
  testing::TempDir dir;
  std::string path = dir.path() + "/garbage.db";
  FILE* f = fopen(path.c_str(), "w");
  fputs("this is not sqlite at all, not even close................................", f);
  fclose(f);
  auto s = MigrationStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace pgshift
