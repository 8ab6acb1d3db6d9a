// extension_parity against a real installation that lacks the version the source runs.
//
// Source and target here share this host's PostgreSQL installation, so the test cannot give
// the target different packages. It does the next real thing: it installs its own extension
// into the installation (control file and version 1.0 script), creates it on the source, then
// replaces the installation's files with version 2.0 only, exactly what a target host whose
// package is newer (or older) than the source's offers. The catalog (copied to the target by
// replication) says 1.0; the target's installation cannot provide 1.0.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "checks/check.h"
#include "common/process.h"
#include "fixture/pg_cluster.h"

namespace pgshift {
namespace {

namespace fs = std::filesystem;
using testing::PgCluster;

// The installation's extension directory, from pg_config of the binaries the fixture uses.
std::string ExtensionDir() {
  auto out = RunCommand({LocalInstance::BinDir() + "/pg_config", "--sharedir"});
  std::string dir = out.ok() && out->exit_code == 0 ? out->output : "/usr/share/postgresql/15";
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
  return dir + "/extension";
}

// Files this test adds to the installation, removed however the test ends.
class InstalledFiles {
 public:
  ~InstalledFiles() {
    for (const auto& f : files_) fs::remove(f);
  }
  void Write(const std::string& path, const std::string& content) {
    std::ofstream(path) << content;
    files_.push_back(path);
  }
  void Remove(const std::string& path) { fs::remove(path); }

 private:
  std::vector<std::string> files_;
};

TEST(ExtensionParity, VersionMissingFromTheTargetInstallationFails) {
  std::string dir = ExtensionDir();
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  if (access(dir.c_str(), W_OK) != 0) GTEST_SKIP() << dir << " is not writable by this test";
  std::string name = "pgshift_probe_" + std::to_string(getpid());
  InstalledFiles files;
  files.Write(dir + "/" + name + ".control",
              "default_version = '1.0'\nrelocatable = true\ntrusted = false\n");
  files.Write(dir + "/" + name + "--1.0.sql",
              "CREATE FUNCTION " + name + "_answer() RETURNS int LANGUAGE sql AS 'SELECT 42';\n");

  auto source = PgCluster::Primary();
  auto target = PgCluster::ReplicaOf(*source);
  source->Sql("CREATE DATABASE app");
  source->Sql("CREATE EXTENSION " + name, "app");
  source->WaitReplayed(*target);

  // The healthy case first: the version installed on the source is available.
  CheckOptions o;
  o.window = std::chrono::milliseconds(500);
  ConnInfo s = ConnInfo::Parse(source->ConnString(), "source").value();
  ConnInfo t = ConnInfo::Parse(target->ConnString(), "target").value();
  auto before = RunChecks(s, t, o, Clock::Real());
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->Find("extension_parity")->verdict, Verdict::kPass)
      << before->Find("extension_parity")->evidence.dump();

  // Now the installation offers 2.0 only.
  files.Remove(dir + "/" + name + "--1.0.sql");
  files.Write(dir + "/" + name + ".control",
              "default_version = '2.0'\nrelocatable = true\ntrusted = false\n");
  files.Write(dir + "/" + name + "--2.0.sql",
              "CREATE FUNCTION " + name + "_answer() RETURNS int LANGUAGE sql AS 'SELECT 43';\n");
  auto after = RunChecks(s, t, o, Clock::Real());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const CheckResult* ext = after->Find("extension_parity");
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->verdict, Verdict::kFail) << ext->evidence.dump();
  ASSERT_EQ(ext->evidence["missing_on_target"].size(), 1u) << ext->evidence.dump();
  const auto& m = ext->evidence["missing_on_target"][0];
  EXPECT_EQ(m["database"], "app");
  EXPECT_EQ(m["extension"], name);
  EXPECT_EQ(m["version"], "1.0");
  EXPECT_EQ(m["available_on_target"], nlohmann::json({"2.0"}));
  EXPECT_NE(ext->advice.find(name + " version 1.0"), std::string::npos);
}

}  // namespace
}  // namespace pgshift
