// Moving a running server's Unix sockets out of its data directory and back.
#include "platform/socket_aside.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "common/log.h"

namespace fs = std::filesystem;

namespace pgshift {

SocketAside::SocketAside(std::string data_dir)
    : data_dir_(std::move(data_dir)), aside_dir_(data_dir_ + ".pgshift-sockets") {}

SocketAside::SocketAside(SocketAside&& o) noexcept
    : data_dir_(std::move(o.data_dir_)), aside_dir_(std::move(o.aside_dir_)), active_(o.active_) {
  o.active_ = false;
}

SocketAside::~SocketAside() {
  if (!active_) return;
  Status st = MoveBack();
  if (!st.ok()) spdlog::warn("{}", st.ToString());
}

Result<SocketAside> SocketAside::MoveOut(const std::string& data_dir) {
  SocketAside aside(data_dir);
  std::error_code ec;
  if (fs::exists(aside.aside_dir_)) {
    aside.active_ = true;
    RETURN_IF_ERROR(aside.MoveBack());
  }
  fs::create_directories(aside.aside_dir_, ec);
  if (ec) return Unavailable("cannot create " + aside.aside_dir_ + ": " + ec.message());
  aside.active_ = true;
  for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
    if (!entry.is_socket()) continue;
    std::string to = aside.aside_dir_ + "/" + entry.path().filename().string();
    if (std::rename(entry.path().c_str(), to.c_str()) != 0) {
      return Unavailable("cannot move socket " + entry.path().string() + " out of the way");
    }
  }
  if (ec) return Unavailable("cannot list " + data_dir + ": " + ec.message());
  return aside;
}

Status SocketAside::MoveBack() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(aside_dir_, ec)) {
    std::string to = data_dir_ + "/" + entry.path().filename().string();
    if (std::rename(entry.path().c_str(), to.c_str()) != 0) {
      return Unavailable("cannot move socket " + entry.path().string() + " back to " + data_dir_);
    }
  }
  fs::remove(aside_dir_, ec);
  active_ = false;
  return Status::Ok();
}

}  // namespace pgshift
