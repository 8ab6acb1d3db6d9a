// pg_rewind copies every file of the server it rewinds from, through SQL, and fails on a Unix
// socket ("could not open file .s.PGSQL.<port>"). Local instances keep their socket in the
// data directory, so while pg_rewind runs the target's socket is moved just outside it (same
// file system: rename keeps the listening socket working) and moved back afterwards. During
// that window the target takes TCP connections only.
#pragma once

#include <string>

#include "common/status.h"

namespace pgshift {

class SocketAside {
 public:
  // Moves the sockets of `data_dir` to "<data_dir>.pgshift-sockets/". A directory left there
  // by a killed run is moved back first.
  static Result<SocketAside> MoveOut(const std::string& data_dir);
  SocketAside(SocketAside&& o) noexcept;
  SocketAside(const SocketAside&) = delete;
  SocketAside& operator=(const SocketAside&) = delete;
  ~SocketAside();  // moves them back (errors are logged: the socket still works by TCP)

  Status MoveBack();

 private:
  explicit SocketAside(std::string data_dir);
  std::string data_dir_;
  std::string aside_dir_;
  bool active_ = false;
};

}  // namespace pgshift
