// RouteFile: the route as a small JSON file {"version","host","port","paused"}, written
// atomically (rename), for loads that look up their endpoint before each connection.
#pragma once

#include <optional>
#include <string>

#include "workflow/router.h"

namespace pgshift {

struct RouteFileContent {
  uint64_t version = 0;
  Endpoint endpoint;
  bool paused = false;
};

Result<RouteFileContent> ReadRouteFile(const std::string& path);
Status WriteRouteFile(const std::string& path, const RouteFileContent& content);

class RouteFileRouter : public Router {
 public:
  explicit RouteFileRouter(std::string path) : path_(std::move(path)) {}
  Status Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) override;
  Status Renew(std::chrono::milliseconds) override { return Status::Ok(); }
  Status Switch(const Endpoint& to, uint64_t version) override;
  Status Resume() override;
  std::string Describe() const override { return "route file " + path_; }
  // Clients follow the file by themselves: they may have, once it named `to`.
  Result<bool> MayHaveServedOn(const Endpoint& to) override;

 private:
  std::string path_;
};

}  // namespace pgshift
