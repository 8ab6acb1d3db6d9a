// A loop-mounted ext4 file system for the disk_full fault (see loop_volume.h).
#include "loop_volume.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>

#include "common/process.h"

namespace fs = std::filesystem;

namespace pgshift::chaos {
namespace {

Status Command(const std::vector<std::string>& argv, const std::string& what) {
  ProcessOptions o;
  o.timeout = std::chrono::seconds(60);
  auto out = RunCommand(argv, o);
  if (!out.ok()) return out.status().Context(what);
  if (out->exit_code != 0) {
    return Unavailable(what + ": " + argv[0] + " exited " + std::to_string(out->exit_code) + ": " +
                       out->output.substr(0, 500));
  }
  return Status::Ok();
}

}  // namespace

bool LoopVolume::Available(const std::string& scratch_dir) {
  if (!RunningAsRoot()) return false;
  LoopVolume probe;
  return probe.Create(scratch_dir + "/loop-probe.img", scratch_dir + "/loop-probe", 16).ok();
}

Status LoopVolume::Create(const std::string& image, const std::string& mount_point, int size_mb) {
  std::lock_guard<std::mutex> l(mu_);
  image_ = image;
  mount_point_ = mount_point;
  RETURN_IF_ERROR(Command({"truncate", "-s", std::to_string(size_mb) + "M", image},
                          "disk_full: make the volume's file " + image));
  RETURN_IF_ERROR(
      Command({"mkfs.ext4", "-q", "-F", "-m", "0", image}, "disk_full: mkfs.ext4 " + image));
  std::error_code ec;
  fs::create_directories(mount_point, ec);
  if (ec) return Unavailable("disk_full: cannot create " + mount_point + ": " + ec.message());
  RETURN_IF_ERROR(Command({"mount", "-o", "loop", image, mount_point},
                          "disk_full: mount " + image + " on " + mount_point));
  mounted_ = true;
  chmod(mount_point.c_str(), 0755);
  ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
  if (chown(mount_point.c_str(), ids.uid, ids.gid) != 0) {
    return Unavailable("disk_full: cannot hand " + mount_point + " to the postgres user");
  }
  return Status::Ok();
}

uint64_t LoopVolume::FreeBytes() const {
  struct statvfs st {};
  if (statvfs(mount_point_.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

Result<uint64_t> LoopVolume::Fill(uint64_t leave_bytes) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t free = FreeBytes();
  if (free <= leave_bytes) return uint64_t{0};
  uint64_t take = free - leave_bytes;
  std::string filler = mount_point_ + "/filler";
  int fd = open(filler.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return Unavailable("disk_full: cannot create " + filler);
  int rc = posix_fallocate(fd, 0, static_cast<off_t>(take));
  close(fd);
  if (rc != 0) return Unavailable("disk_full: fallocate of " + filler + " failed");
  return take;
}

Status LoopVolume::Unfill() {
  std::lock_guard<std::mutex> l(mu_);
  std::error_code ec;
  fs::remove(mount_point_ + "/filler", ec);
  if (ec) return Unavailable("disk_full: cannot remove the filler: " + ec.message());
  return Status::Ok();
}

void LoopVolume::Remove() {
  std::lock_guard<std::mutex> l(mu_);
  if (mounted_) {
    // A server still holding a file there (a crashed round) must not keep the mount: lazily.
    if (!Command({"umount", mount_point_}, "disk_full: umount").ok()) {
      (void)Command({"umount", "-l", mount_point_}, "disk_full: umount -l");
    }
    mounted_ = false;
  }
  if (!image_.empty()) {
    std::error_code ec;
    fs::remove(image_, ec);
    fs::remove(mount_point_, ec);
    image_.clear();
  }
}

}  // namespace pgshift::chaos
