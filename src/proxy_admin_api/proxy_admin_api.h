// The proxy's admin API contract (docs/proxy.md, "Admin API"), written once: the paths and the
// request and answer bodies of the cluster endpoints, for the proxy that serves them and the
// orchestrator (ProxyRouter) that calls them. FromJson checks every field it reads and fails
// with kInvalidArgument naming the field; absent optional fields take the documented defaults.
// Nothing here may carry a secret: answers are shown to operators and logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift::proxy_admin {

// The verbs of POST /v1/clusters/{cluster}/{verb}.
inline constexpr const char* kPause = "pause";
inline constexpr const char* kRenew = "renew";
inline constexpr const char* kPrepare = "prepare";
inline constexpr const char* kSwitch = "switch";
inline constexpr const char* kResume = "resume";

inline constexpr const char* kHealthPath = "/healthz";  // the one path without a token
inline constexpr const char* kMetricsPath = "/metrics";
inline constexpr const char* kRoutesPath = "/v1/routes";
inline constexpr const char* kSessionsPath = "/v1/sessions";

// "/v1/clusters/{cluster}/<verb>": the route a server registers ({cluster} is one segment).
std::string ClusterRoute(const std::string& verb);
// "/v1/clusters/<cluster>/<verb>": the path a client calls.
std::string ClusterPath(const std::string& cluster, const std::string& verb);

// A request body: empty text is an empty object; anything but a JSON object is refused.
Result<nlohmann::json> ParseBody(const std::string& text);

// POST .../pause: hold new work until every session is idle, or give up at `deadline`.
// The pause is a lease: it lapses after `lease` unless renewed.
// `not_after_unix_ms`: the sender's wall clock (ms since the epoch) after which it no longer
// waits for the answer (its clock at sending + `deadline`). A proxy that reads the request
// later than that (plus a small skew tolerance) refuses it and holds nothing; it drains no
// longer than until then. Absent (an older engine): the request is taken as it comes.
struct PauseRequest {
  std::chrono::milliseconds deadline{5000};
  std::chrono::milliseconds lease{10000};
  std::optional<int64_t> not_after_unix_ms;
  nlohmann::json ToJson() const;
  static Result<PauseRequest> FromJson(const nlohmann::json& j);
};

// 200 when paused; 409 when the deadline passed first (or a resume or lapse ended it).
struct PauseAnswer {
  bool paused = false;
  int sessions = 0;                    // when paused: sessions of the cluster
  std::vector<int> held_backend_pids;  // when paused: backends the fence must leave alone
  std::vector<uint64_t> not_drained;   // when not: sessions still busy at the deadline
  std::string reason;                  // when not: why
  bool expired = false;                // when not: the request was read after its not_after
  nlohmann::json ToJson() const;
  static Result<PauseAnswer> FromJson(const nlohmann::json& j);
};

// POST .../renew: extends the pause lease.
struct RenewRequest {
  std::chrono::milliseconds lease{10000};
  nlohmann::json ToJson() const;
  static Result<RenewRequest> FromJson(const nlohmann::json& j);
};

// 200 {"paused":true}; 409 {"paused":false,"error":...} when the cluster is not paused.
struct RenewAnswer {
  bool paused = false;
  std::string error;
  nlohmann::json ToJson() const;
  static Result<RenewAnswer> FromJson(const nlohmann::json& j);
};

// POST .../prepare: open standby links to the endpoint a later switch will name.
struct PrepareRequest {
  std::string host;
  int port = 0;
  std::chrono::milliseconds deadline{3000};
  nlohmann::json ToJson() const;
  static Result<PrepareRequest> FromJson(const nlohmann::json& j);
};

struct PrepareAnswer {
  int sessions = 0;
  int open = 0;
  int failed = 0;
  nlohmann::json ToJson() const;
  static Result<PrepareAnswer> FromJson(const nlohmann::json& j);
};

// POST .../switch: route the cluster to host:port; `version` only increases.
struct SwitchRequest {
  std::string host;
  int port = 0;
  uint64_t version = 0;
  nlohmann::json ToJson() const;
  static Result<SwitchRequest> FromJson(const nlohmann::json& j);
};

struct SwitchAnswer {
  uint64_t version = 0;
  int moved = 0;
  int pending = 0;
  int replication_staying = 0;
  nlohmann::json ToJson() const;
  static Result<SwitchAnswer> FromJson(const nlohmann::json& j);
};

// POST .../resume (no body): 200 {"paused":false}. Idempotent. Also confirms the cluster's
// current route (the proxy's sessions then write through a target fence there); a cluster
// whose pause already lapsed is confirmed the same way.
struct ResumeAnswer {
  bool paused = false;
  nlohmann::json ToJson() const;
  static Result<ResumeAnswer> FromJson(const nlohmann::json& j);
};

// GET /v1/routes: where each cluster's sessions go now. The orchestrator reads it when a
// switch is refused (409) to tell "already there" from "pinned elsewhere".
struct RouteInfo {
  std::string host;
  int port = 0;
  uint64_t version = 0;
  bool tls = false;
  bool paused = false;
  std::string user;  // the role the proxy logs in to the backend as (the target fence admits it)
  // An explicit resume confirmed the route since its switch (absent from an older proxy: true).
  bool confirmed = true;
};

struct RoutesAnswer {
  uint64_t version = 0;  // the highest version of any route
  std::map<std::string, RouteInfo> routes;
  nlohmann::json ToJson() const;
  static Result<RoutesAnswer> FromJson(const nlohmann::json& j);
};

// Every refusal: {"error":...}; a refused switch adds the route's current version.
struct ErrorAnswer {
  std::string error;
  std::optional<uint64_t> version;
  nlohmann::json ToJson() const;
  static Result<ErrorAnswer> FromJson(const nlohmann::json& j);
};

}  // namespace pgshift::proxy_admin
