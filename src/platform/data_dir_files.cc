// Atomic, postgres-owned file writes for data directory files.
#include "platform/data_dir_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/process.h"

namespace pgshift {

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Unavailable("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteDataDirFile(const std::string& path, const std::string& content) {
  std::string tmp = path + ".pgshift-tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return Unavailable("cannot write " + tmp);
  }
  chmod(tmp.c_str(), 0600);
  if (RunningAsRoot()) {
    ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
    if (chown(tmp.c_str(), ids.uid, ids.gid) != 0) {
      return Unavailable("cannot hand " + tmp + " to the postgres user");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Unavailable("cannot replace " + path);
  return Status::Ok();
}

}  // namespace pgshift
