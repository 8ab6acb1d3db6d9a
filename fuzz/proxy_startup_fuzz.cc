// libFuzzer target over the proxy's startup handling, everything a client controls before it
// is admitted: ReadStartupPacket on arbitrary input, ParseStartupParams on its body, and
// DecideAdmission on the parameters with and without TLS and a verified identity. Invariants
// (checked with __builtin_trap): a complete packet's body lies inside the input and matches its
// length word; an admission names a configured cluster whose role the identity may use; a
// refusal carries a SQLSTATE and says nothing about the backend (host, port, password).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "proxy/admission.h"
#include "proxy/wire_format.h"

using namespace pgshift;
using namespace pgshift::proxy;

namespace {

constexpr const char* kBackendHost = "10.9.8.7";
constexpr const char* kBackendPort = "5999";
constexpr const char* kBackendPassword = "pw-secret-fuzz";

ProxyConfig MakeConfig(bool client_tls) {
  ProxyConfig c;
  c.client_tls = client_tls;
  for (const char* name : {"orders", "billing"}) {
    ClusterConfig cl;
    cl.name = name;
    cl.host = kBackendHost;
    cl.port = 5999;
    cl.database = std::string(name) + "_db";
    cl.user = "app";
    cl.password = kBackendPassword;
    c.clusters[name] = cl;
  }
  c.identities["svc-orders"] = IdentityConfig{"svc-orders", {"orders"}, {"app"}};
  c.identities["spiffe://example.org/any"] =
      IdentityConfig{"spiffe://example.org/any", {"*"}, {"*"}};
  return c;
}

void Check(const ProxyConfig& config, const ClientCredentials& client,
           const std::map<std::string, std::string>& params) {
  AdmissionDecision d = DecideAdmission(config, client, params);
  if (d.admitted()) {
    if (!d.cluster || !config.clusters.count(d.database)) __builtin_trap();
    if (&config.clusters.at(d.database) != d.cluster) __builtin_trap();
    if (config.client_tls) {
      if (!client.over_tls || !client.identity.ok()) __builtin_trap();
      auto id = config.identities.find(d.identity);
      if (id == config.identities.end() || !id->second.AllowsDatabase(d.database)) __builtin_trap();
    }
    return;
  }
  if (d.sqlstate == nullptr || std::string(d.sqlstate).size() != 5) __builtin_trap();
  // Unless the client itself sent that text (a refusal may quote its database or user).
  for (const char* secret : {kBackendHost, kBackendPort, kBackendPassword}) {
    bool sent = false;
    for (const auto& [k, v] : params) {
      sent = sent || k.find(secret) != std::string::npos || v.find(secret) != std::string::npos;
    }
    if (!sent && d.message.find(secret) != std::string::npos) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static const ProxyConfig with_tls = MakeConfig(true);
  static const ProxyConfig without_tls = MakeConfig(false);
  std::string_view data(reinterpret_cast<const char*>(bytes), size);

  wire::StartupPacket packet = wire::ReadStartupPacket(data);
  std::string_view body = data.size() >= 4 ? data.substr(4) : std::string_view();
  if (packet.kind != wire::StartupPacket::Kind::kIncomplete &&
      packet.kind != wire::StartupPacket::Kind::kBadLength) {
    // The body is a view into the input, exactly the packet's length minus its length word.
    if (packet.body.data() < data.data() ||
        packet.body.data() + packet.body.size() > data.data() + data.size() ||
        packet.body.size() + 4 != packet.length) {
      __builtin_trap();
    }
    body = packet.body;
  }
  if (packet.kind == wire::StartupPacket::Kind::kCancelRequest) {
    uint32_t pid = 0, secret = 0;
    (void)wire::ReadCancelKey(packet.body, pid, secret);
  }

  std::map<std::string, std::string> params;
  (void)wire::ParseStartupParams(body, params);
  // The identity a certificate could carry: the parameters' own "user" value, a configured
  // one, or none at all.
  auto user = params.find("user");
  std::string presented = user != params.end() ? user->second : "svc-orders";
  for (bool over_tls : {false, true}) {
    for (int which = 0; which < 3; ++which) {
      ClientCredentials client;
      client.over_tls = over_tls;
      if (which == 0) client.identity = presented;
      if (which == 1) client.identity = std::string("spiffe://example.org/any");
      Check(with_tls, client, params);
      Check(without_tls, client, params);
    }
  }
  return 0;
}
