// Reading and atomically replacing the proxy's route file.
#include "proxy/route_persistence.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pgshift::proxy {
namespace {

using nlohmann::json;

Status Corrupt(const std::string& path, const std::string& problem) {
  return FailedPrecondition("route file " + path + ": " + problem +
                            "; it holds the routes switched before this start. Restore it, or "
                            "remove it to start from the config's routes (then switch again "
                            "with a new version)");
}

Status SystemError(const std::string& path, const std::string& what) {
  return Unavailable("route file " + path + ": " + what + ": " + std::strerror(errno));
}

// write(2) until done, retrying on EINTR.
bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

}  // namespace

Result<PersistedRoutes> ReadPersistedRoutes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return PersistedRoutes{};
  std::ifstream in(path);
  if (!in) return Corrupt(path, "cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Corrupt(path, "is not a JSON object");
  if (!j.contains("format") || j["format"] != 1) return Corrupt(path, "\"format\" is not 1");
  if (!j.contains("routes") || !j["routes"].is_object()) {
    return Corrupt(path, "\"routes\" is not an object");
  }
  PersistedRoutes out;
  const json& routes = j["routes"];
  for (auto it = routes.begin(); it != routes.end(); ++it) {
    const json& r = it.value();
    bool ok = r.is_object() && r.contains("host") && r["host"].is_string() && r.contains("port") &&
              r["port"].is_number_unsigned() && r.contains("version") &&
              r["version"].is_number_unsigned();
    if (ok) {
      PersistedRoute route{r["host"].get<std::string>(), 0, r["version"].get<uint64_t>()};
      uint64_t port = r["port"].get<uint64_t>();
      ok = !route.host.empty() && port >= 1 && port <= 65535;
      if (r.contains("confirmed")) {
        ok = ok && r["confirmed"].is_boolean();
        route.confirmed = ok && r["confirmed"].get<bool>();
      }
      route.port = int(port);
      if (ok) out[it.key()] = std::move(route);
    }
    if (!ok) {
      return Corrupt(path, "route \"" + it.key() +
                               "\" needs \"host\" (a string), \"port\" (1-65535) and "
                               "\"version\" (a non-negative integer), and \"confirmed\", if "
                               "present, is true or false");
    }
  }
  return out;
}

Status WritePersistedRoutes(const std::string& path, const PersistedRoutes& routes) {
  json j = {{"format", 1}, {"routes", json::object()}};
  for (const auto& [name, r] : routes) {
    j["routes"][name] = {
        {"host", r.host}, {"port", r.port}, {"version", r.version}, {"confirmed", r.confirmed}};
  }
  // Cluster names come from the config, host names from switches: never abort on bad UTF-8.
  std::string text = j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return SystemError(temp, "cannot create");
  bool written = WriteAll(fd, text) && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!written) {
    errno = saved;
    Status st = SystemError(temp, "cannot write and sync");
    ::unlink(temp.c_str());
    return st;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status st = SystemError(path, "cannot rename " + temp + " over it");
    ::unlink(temp.c_str());
    return st;
  }
  // The rename itself is durable only once the folder is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return SystemError(dir, "cannot open the folder to sync it");
  bool synced = ::fsync(dfd) == 0;
  saved = errno;
  ::close(dfd);
  if (!synced) {
    errno = saved;
    return SystemError(dir, "cannot sync the folder");
  }
  return Status::Ok();
}

}  // namespace pgshift::proxy
