// Save / restore of a data directory's configuration files around pg_rewind.
#include "platform/config_snapshot.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "platform/data_dir_files.h"
#include "platform/hba_fence.h"

namespace fs = std::filesystem;

namespace pgshift {
namespace {
constexpr const char* kAbsentSuffix = ".absent";
constexpr const char* kRewoundMarker = "REWOUND";
constexpr const char* kCompleteMarker = "COMPLETE";
constexpr const char* kFencedHbaName = "pg_hba.conf.fenced";
}  // namespace

ConfigSnapshot::ConfigSnapshot(std::string data_dir)
    : data_dir_(std::move(data_dir)), dir_(data_dir_ + ".pgshift-config") {}

const std::vector<std::string>& ConfigSnapshot::Files() {
  static const std::vector<std::string> kFiles = {"postgresql.conf", "postgresql.auto.conf",
                                                  "pg_hba.conf", "pg_ident.conf", "pgshift.conf"};
  return kFiles;
}

// Only a snapshot whose every file was written counts; a crash during Save leaves none.
bool ConfigSnapshot::Exists() const { return fs::exists(dir_ + "/" + kCompleteMarker); }

Status ConfigSnapshot::Save() {
  if (Exists()) return Status::Ok();
  std::error_code ec;
  fs::remove_all(dir_, ec);
  fs::create_directories(dir_, ec);
  if (ec) return Unavailable("cannot create " + dir_ + ": " + ec.message());
  chmod(dir_.c_str(), 0700);  // holds primary_conninfo and hba rules: not for everyone
  for (const std::string& name : Files()) {
    std::string from = data_dir_ + "/" + name;
    if (name == "pg_hba.conf" && fs::exists(data_dir_ + "/" + kHbaBackupName)) {
      from = data_dir_ + "/" + kHbaBackupName;  // fenced: the original is the one to keep
      fs::copy_file(data_dir_ + "/pg_hba.conf", dir_ + "/" + kFencedHbaName,
                    fs::copy_options::overwrite_existing, ec);
      if (ec)
        return Unavailable("cannot save the fenced pg_hba.conf to " + dir_ + ": " + ec.message());
    }
    if (!fs::exists(from)) {
      std::ofstream(dir_ + "/" + name + kAbsentSuffix);
      continue;
    }
    fs::copy_file(from, dir_ + "/" + name, fs::copy_options::overwrite_existing, ec);
    if (ec) return Unavailable("cannot save " + from + " to " + dir_ + ": " + ec.message());
  }
  std::ofstream(dir_ + "/" + kCompleteMarker) << "saved\n";
  if (!Exists()) return Unavailable("cannot write " + dir_ + "/" + kCompleteMarker);
  return Status::Ok();
}

Status ConfigSnapshot::Restore() const {
  if (!Exists()) return FailedPrecondition("no configuration snapshot in " + dir_);
  for (const std::string& name : Files()) {
    std::string to = data_dir_ + "/" + name;
    if (fs::exists(dir_ + "/" + name + kAbsentSuffix)) {
      std::error_code ec;
      fs::remove(to, ec);
      if (ec) return Unavailable("cannot remove " + to + ": " + ec.message());
      continue;
    }
    ASSIGN_OR_RETURN(std::string content, ReadTextFile(dir_ + "/" + name));
    RETURN_IF_ERROR(WriteDataDirFile(to, content));
  }
  return Status::Ok();
}

bool ConfigSnapshot::WasFenced() const { return fs::exists(dir_ + "/" + kFencedHbaName); }

Status ConfigSnapshot::RestoreHbaFence() const {
  if (!WasFenced()) return Status::Ok();
  ASSIGN_OR_RETURN(std::string original, ReadTextFile(dir_ + "/pg_hba.conf"));
  ASSIGN_OR_RETURN(std::string fenced, ReadTextFile(dir_ + "/" + kFencedHbaName));
  RETURN_IF_ERROR(WriteDataDirFile(data_dir_ + "/" + kHbaBackupName, original));
  return WriteDataDirFile(data_dir_ + "/pg_hba.conf", fenced);
}

Status ConfigSnapshot::Discard() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return Unavailable("cannot remove " + dir_ + ": " + ec.message());
  return Status::Ok();
}

Status ConfigSnapshot::MarkRewound() const {
  std::ofstream(dir_ + "/" + kRewoundMarker) << "pg_rewind completed\n";
  return Rewound() ? Status::Ok() : Unavailable("cannot write " + dir_ + "/" + kRewoundMarker);
}

bool ConfigSnapshot::Rewound() const { return fs::exists(dir_ + "/" + kRewoundMarker); }

}  // namespace pgshift
