// Random secrets and owner-only secret files.
#include "demo/secret_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;

namespace pgshift::demo {

std::string RandomSecret() {
  std::random_device rd;
  char buf[33];
  for (int i = 0; i < 32; i += 8) std::snprintf(buf + i, 9, "%08x", rd());
  return buf;
}

Status WriteSecretFile(const std::string& path, const std::string& secret) {
  std::ofstream(path).close();
  std::error_code ec;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, ec);
  std::ofstream out(path);
  out << secret << "\n";
  out.close();
  if (!out || ec) return Unavailable("demo: cannot write " + path);
  return Status::Ok();
}

}  // namespace pgshift::demo
