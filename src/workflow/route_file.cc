// Route file reading and atomic writing.
#include "workflow/route_file.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace pgshift {

Result<RouteFileContent> ReadRouteFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("route file " + path + " does not exist");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("port")) {
    return InvalidArgument("route file " + path + " is not valid JSON with host and port");
  }
  RouteFileContent c;
  c.version = j.value("version", uint64_t{0});
  c.endpoint.host = j.value("host", std::string("127.0.0.1"));
  c.endpoint.port = j.value("port", 0);
  c.paused = j.value("paused", false);
  return c;
}

Status WriteRouteFile(const std::string& path, const RouteFileContent& c) {
  nlohmann::json j = {{"version", c.version},
                      {"host", c.endpoint.host},
                      {"port", c.endpoint.port},
                      {"paused", c.paused}};
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    if (!out) return Unavailable("cannot write route file " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Unavailable("cannot replace route file " + path);
  }
  return Status::Ok();
}

Status RouteFileRouter::Pause(std::chrono::milliseconds, std::chrono::milliseconds) {
  ASSIGN_OR_RETURN(RouteFileContent c, ReadRouteFile(path_));
  c.paused = true;
  return WriteRouteFile(path_, c);
}

Status RouteFileRouter::Switch(const Endpoint& to, uint64_t version) {
  ASSIGN_OR_RETURN(RouteFileContent c, ReadRouteFile(path_));
  if (version < c.version) {
    return Aborted("route file " + path_ + " is at version " + std::to_string(c.version) +
                   ", refusing older version " + std::to_string(version));
  }
  c.version = version;
  c.endpoint = to;
  return WriteRouteFile(path_, c);
}

Status RouteFileRouter::Resume() {
  ASSIGN_OR_RETURN(RouteFileContent c, ReadRouteFile(path_));
  c.paused = false;
  return WriteRouteFile(path_, c);
}

Result<bool> RouteFileRouter::MayHaveServedOn(const Endpoint& to) {
  ASSIGN_OR_RETURN(RouteFileContent c, ReadRouteFile(path_));
  return c.endpoint.host == to.host && c.endpoint.port == to.port;
}

}  // namespace pgshift
