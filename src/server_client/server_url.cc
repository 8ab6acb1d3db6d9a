// Parsing `--server URL`.
#include "server_client/server_url.h"

#include <charconv>

namespace pgshift {

Result<ServerUrl> ServerUrl::Parse(const std::string& url) {
  ServerUrl out;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return InvalidArgument("--server: '" + url + "' is not http://HOST:PORT or https://HOST:PORT");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('@') != std::string::npos) {
    return InvalidArgument(
        "--server: the URL holds credentials, which the command line shows to every local "
        "user; give the token in a file with --token-file or PGSHIFT_TOKEN_FILE");
  }
  if (rest.find_first_of("/?#") != std::string::npos) {
    return InvalidArgument("--server: '" + url + "' has a path; give only http(s)://HOST:PORT");
  }
  size_t colon = rest.rfind(':');
  int port = 0;
  bool port_ok = false;
  if (colon != std::string::npos && colon != 0 && rest.back() != ']') {
    const char* end = rest.data() + rest.size();
    auto [ptr, ec] = std::from_chars(rest.data() + colon + 1, end, port);
    port_ok = ec == std::errc() && ptr == end && port >= 1 && port <= 65535;
  }
  if (!port_ok) {
    return InvalidArgument("--server: '" + url + "' needs a port: http(s)://HOST:PORT");
  }
  out.host_port = rest;
  return out;
}

}  // namespace pgshift
