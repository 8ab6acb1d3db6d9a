// Reading a token file.
#include "server_client/token_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace pgshift {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<TokenFile> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("token file " + path + ": cannot be read");
  std::stringstream all;
  all << in.rdbuf();
  std::string text = Trim(all.str());
  if (text.empty()) return InvalidArgument("token file " + path + ": is empty");
  if (text.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("token file " + path +
                           ": holds more than one word; it should hold the token alone");
  }
  TokenFile out{text, {}};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    out.warnings.push_back("token file " + path + " is readable by other users; chmod 600 it");
  }
  return out;
}

}  // namespace pgshift
