// Route versions end to end: the orchestrator's ProxyRouter tells a switch already made (409,
// route as wanted) from a route pinned elsewhere by a higher version (409, route elsewhere: the
// step fails), and a real `pgshift proxy` process keeps its switched route across a restart
// (kill -9 included) and refuses an older version after it.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/process.h"
#include "platform/local_instance.h"
#include "platform/port_reservation.h"
#include "proxy_harness.h"
#include "workflow/proxy_router.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;

std::string SwitchBody(int port, uint64_t version) {
  return json{{"host", "127.0.0.1"}, {"port", port}, {"version", version}}.dump();
}

HttpResponse AdminAt(int admin_port, const std::string& method, const std::string& path,
                     const std::string& body = "") {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  request.headers["authorization"] = std::string("Bearer ") + kAdminToken;
  auto r =
      HttpClient("127.0.0.1:" + std::to_string(admin_port)).Send(request, std::chrono::seconds(30));
  if (r.ok()) return *r;
  HttpResponse none;
  none.status = 0;  // no answer
  return none;
}

TEST(ProxyRouterSwitch, ARoutePinnedElsewhereByAHugeVersionFailsTheSwitch) {
  ProxyHarness h;
  int elsewhere = *ReservePort();
  // Anyone holding the token pins the route with the largest version the API takes.
  const uint64_t huge = 9223372036854775807ull;
  ASSERT_EQ(h.Admin("POST", "/v1/clusters/orders/switch", SwitchBody(elsewhere, huge)).status, 200);

  std::string admin = "127.0.0.1:" + std::to_string(h.proxy->admin_port());
  ProxyRouter router("orders", {{admin, kAdminToken}});
  Status st = router.Switch({"127.0.0.1", h.primary->port()}, 5);
  ASSERT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("proxy " + admin), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("cluster orders"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("its route is 127.0.0.1:" + std::to_string(elsewhere) +
                              " at version " + std::to_string(huge)),
            std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().find(kAdminToken), std::string::npos);
}

TEST(ProxyRouterSwitch, ASwitchRepeatedByAResumedRunIsDone) {
  ProxyHarness h;
  int target = *ReservePort();
  ProxyRouter router("orders",
                     {{"127.0.0.1:" + std::to_string(h.proxy->admin_port()), kAdminToken}});
  ASSERT_TRUE(router.Switch({"127.0.0.1", target}, 1).ok());
  // The same switch again (the proxy answers 409) and an older one to the same route: the
  // route is the one wanted, so the step is done.
  Status again = router.Switch({"127.0.0.1", target}, 1);
  EXPECT_TRUE(again.ok()) << again.ToString();
  auto routes = json::parse(h.Admin("GET", "/v1/routes").body);
  EXPECT_EQ(routes["routes"]["orders"]["port"], target);
  EXPECT_EQ(routes["routes"]["orders"]["version"], 1);
}

// A `pgshift proxy` process on the harness's config with ports of its own.
class ProxyProcess {
 public:
  ProxyProcess(const ProxyHarness& h, const std::string& config_path, int admin_port)
      : admin_port_(admin_port) {
    auto child = ChildProcess::Start({PGSHIFT_BINARY, "proxy", "--config", config_path},
                                     {.stdout_path = h.dir.path() + "/proxy-process.log"});
    if (!child.ok()) throw std::runtime_error(child.status().ToString());
    child_.emplace(std::move(child).value());
    // Ready when /healthz answers (generous deadline: a loaded machine starts slowly).
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < end && child_->Running()) {
      if (AdminAt(admin_port_, "GET", "/healthz").status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("pgshift proxy did not start; see proxy-process.log");
  }
  void Kill(int sig) {
    child_->Signal(sig);
    EXPECT_TRUE(child_->Wait(std::chrono::seconds(60)).has_value());
  }

 private:
  int admin_port_;
  std::optional<ChildProcess> child_;
};

TEST(ProxyRouteFile, ARestartedProxyProcessKeepsItsRouteAndRefusesOlderVersions) {
  ProxyHarness h;
  h.proxy->Stop();  // only its backend, PKI and config are used: the process serves
  int admin = *ReservePort(), listen = *ReservePort(), target = *ReservePort();
  std::string config = h.ConfigCopy("process.ini", "127.0.0.1:" + std::to_string(listen),
                                    "127.0.0.1:" + std::to_string(admin));

  {
    ProxyProcess first(h, config, admin);
    ASSERT_EQ(AdminAt(admin, "POST", "/v1/clusters/orders/switch", SwitchBody(target, 5)).status,
              200);
    first.Kill(SIGKILL);  // no orderly shutdown: what was answered must already be on disk
  }
  EXPECT_TRUE(std::filesystem::exists(config + ".routes"));

  ProxyProcess second(h, config, admin);
  auto routes = json::parse(AdminAt(admin, "GET", "/v1/routes").body, nullptr, false);
  ASSERT_TRUE(routes.is_object());
  EXPECT_EQ(routes["routes"]["orders"]["port"], target);
  EXPECT_EQ(routes["routes"]["orders"]["version"], 5);
  EXPECT_EQ(routes["version"], 5);
  // Older and equal versions stay refused after the restart; a higher one is taken.
  EXPECT_EQ(
      AdminAt(admin, "POST", "/v1/clusters/orders/switch", SwitchBody(h.primary->port(), 4)).status,
      409);
  EXPECT_EQ(
      AdminAt(admin, "POST", "/v1/clusters/orders/switch", SwitchBody(h.primary->port(), 5)).status,
      409);
  EXPECT_EQ(
      AdminAt(admin, "POST", "/v1/clusters/orders/switch", SwitchBody(h.primary->port(), 6)).status,
      200);
  second.Kill(SIGTERM);

  // A route file that cannot be trusted stops the proxy from starting, naming the file.
  std::ofstream(config + ".routes") << "{not json";
  auto out = RunCommand({PGSHIFT_BINARY, "proxy", "--config", config},
                        {.timeout = std::chrono::seconds(60)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->exit_code, 0);
  EXPECT_NE(out->output.find("route file " + config + ".routes"), std::string::npos) << out->output;
}

}  // namespace
}  // namespace pgshift::testing
