// SecretRef: references read from files and variables; errors name the reference, never a
// value; a spec keeps references through JSON, and ResolvePasswords puts the values into the
// conninfos without touching one that already holds a password (the CLI's form).
#include "migration/secret_ref.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "fixture/temp_dir.h"
#include "migration/migration_spec.h"

namespace pgshift {
namespace {

TEST(SecretRef, ReadsAFileWithoutItsTrailingNewline) {
  testing::TempDir dir;
  std::string path = dir.path() + "/pw";
  std::ofstream(path) << "s3cret-canary\n";
  auto ref = SecretRef::FromJson({{"file", path}}, "source.password");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(*ref->Resolve(), "s3cret-canary");
  EXPECT_EQ(ref->ToJson(), nlohmann::json({{"file", path}}));
}

TEST(SecretRef, ReadsAVariable) {
  setenv("PGSHIFT_TEST_SECRET_REF", "from-env", 1);
  auto ref = SecretRef::FromJson({{"env", "PGSHIFT_TEST_SECRET_REF"}}, "f");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(*ref->Resolve(), "from-env");
  unsetenv("PGSHIFT_TEST_SECRET_REF");
  auto gone = ref->Resolve();
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("PGSHIFT_TEST_SECRET_REF"), std::string::npos);
}

TEST(SecretRef, AnUnreadableFileIsAnErrorNamingThePath) {
  auto ref = SecretRef::FromJson({{"file", "/nonexistent/pw"}}, "f");
  ASSERT_TRUE(ref.ok());
  auto r = ref->Resolve();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("/nonexistent/pw"), std::string::npos);
}

TEST(SecretRef, MalformedReferencesAreRefusedNamingTheField) {
  for (const nlohmann::json& bad :
       {nlohmann::json("plain"), nlohmann::json({{"file", ""}}), nlohmann::json({{"vault", "x"}}),
        nlohmann::json({{"file", "/a"}, {"env", "B"}}), nlohmann::json({{"env", 3}})}) {
    auto r = SecretRef::FromJson(bad, "target.password");
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_NE(r.status().message().find("target.password"), std::string::npos);
  }
}

TEST(SecretRef, ASpecKeepsReferencesAndTheEngineResolvesThem) {
  testing::TempDir dir;
  std::string path = dir.path() + "/pw";
  std::ofstream(path) << "canary-value";
  MigrationSpec spec;
  spec.source = *ConnInfo::Parse("host=127.0.0.1 user=postgres", "source");
  spec.target =
      *ConnInfo::Parse("host=127.0.0.1 port=5544 user=postgres password=inline", "target");
  spec.source_password = SecretRef{SecretRef::Kind::kFile, path};
  spec.target_password = SecretRef{SecretRef::Kind::kFile, "/nonexistent"};
  nlohmann::json stored = spec.ToJson();
  EXPECT_EQ(stored.dump().find("canary-value"), std::string::npos);
  auto back = MigrationSpec::FromJson(stored);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->source_password.has_value());
  ASSERT_TRUE(ResolvePasswords(*back).ok());
  EXPECT_EQ(back->source.Get("password"), "canary-value");
  EXPECT_EQ(back->target.Get("password"), "inline");  // an inline password is kept as it was

  MigrationSpec broken = *MigrationSpec::FromJson(stored);
  broken.target = *ConnInfo::Parse("host=127.0.0.1 port=5544", "target");
  Status st = ResolvePasswords(broken);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/nonexistent"), std::string::npos);
  EXPECT_EQ(st.message().find("canary-value"), std::string::npos);
}

}  // namespace
}  // namespace pgshift
