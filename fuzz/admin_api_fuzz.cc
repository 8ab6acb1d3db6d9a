// libFuzzer target over the proxy's admin API: arbitrary method, path, authorization and body
// fed to AdminServer::Handle (the route table the HTTP server uses, without a socket), and the
// body fed to every FromJson parser of the shared contract (src/proxy_admin_api). Nothing may
// throw or abort (invalid UTF-8 in a path included); every answer is a status in 200-599 and,
// when JSON, parses; a 401 never echoes the admin token. Input: the first byte picks the
// authorization (the right token most of the time, so that handlers are reached), then
// "METHOD\nPATH\nBODY".
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "proxy/admin_server.h"
#include "proxy/pause_controller.h"
#include "proxy/proxy_context.h"
#include "proxy_admin_api/proxy_admin_api.h"

using namespace pgshift;
using namespace pgshift::proxy;
namespace api = pgshift::proxy_admin;

namespace {

constexpr const char* kToken = "fuzz-admin-token-7";

ProxyConfig MakeConfig() {
  ProxyConfig c;
  c.client_tls = false;
  c.admin_token = kToken;
  ClusterConfig cl;
  cl.name = "orders";
  cl.port = 5999;
  cl.user = "app";
  cl.password = "pw-secret-fuzz";
  c.clusters["orders"] = cl;
  return c;  // no route_file: a switch is not persisted
}

struct Proxy {
  ProxyContext ctx{MakeConfig()};
  PauseController pauses{ctx};
  AdminServer admin{ctx, pauses};
};

template <typename T>
void ParseAndRoundTrip(const nlohmann::json& j) {
  auto r = T::FromJson(j);
  if (!r.ok()) return;
  auto back = T::FromJson(r->ToJson());
  if (!back.ok()) __builtin_trap();  // what we write, we read
}

std::string_view NextLine(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static Proxy* proxy = new Proxy();  // one proxy for the run, as one process serves many
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  std::string method(NextLine(rest));
  std::string path(NextLine(rest));
  std::string body(rest);
  std::string auth;
  switch (bytes[0] % 4) {
    case 0:
      auth = "";
      break;
    case 1:
      auth = "Bearer wrong";
      break;
    default:
      auth = std::string("Bearer ") + kToken;
      break;
  }
  // With no sessions, a pause, prepare or switch answers at once; the resume below lifts a
  // pause so that the next input starts from an unpaused cluster.
  HttpResponse r = proxy->admin.Handle(method, path, auth, body);
  if (r.status < 200 || r.status > 599) __builtin_trap();
  if (r.content_type == "application/json") {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded()) __builtin_trap();
  }
  // A refused token is never echoed (other refusals may quote the path, which the fuzzer writes).
  if (r.status == 401 && r.body.find(kToken) != std::string::npos) __builtin_trap();
  (void)proxy->admin.Handle("POST", "/v1/clusters/orders/resume", std::string("Bearer ") + kToken,
                            "");

  auto parsed = api::ParseBody(body);
  if (parsed.ok()) {
    ParseAndRoundTrip<api::PauseRequest>(*parsed);
    ParseAndRoundTrip<api::PauseAnswer>(*parsed);
    ParseAndRoundTrip<api::RenewRequest>(*parsed);
    ParseAndRoundTrip<api::RenewAnswer>(*parsed);
    ParseAndRoundTrip<api::PrepareRequest>(*parsed);
    ParseAndRoundTrip<api::PrepareAnswer>(*parsed);
    ParseAndRoundTrip<api::SwitchRequest>(*parsed);
    ParseAndRoundTrip<api::SwitchAnswer>(*parsed);
    ParseAndRoundTrip<api::ResumeAnswer>(*parsed);
    ParseAndRoundTrip<api::RoutesAnswer>(*parsed);
    ParseAndRoundTrip<api::ErrorAnswer>(*parsed);
  }
  return 0;
}
