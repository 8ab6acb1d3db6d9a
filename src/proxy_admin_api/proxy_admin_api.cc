// JSON of the admin API's bodies, with one reader per kind of field so that every refusal
// names the field and what it should have been.
#include "proxy_admin_api/proxy_admin_api.h"

#include <limits>

namespace pgshift::proxy_admin {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// A non-negative integer field in [lo, hi] (every integer of the API is non-negative);
// `fallback` when absent (nullopt: the field is required).
template <typename T>
Status ReadInteger(const json& j, const char* name, std::optional<T> fallback, T lo, T hi,
                   const std::string& what, T& out) {
  if (!j.contains(name)) {
    if (!fallback)
      return InvalidArgument("\"" + std::string(name) + "\" is missing (" + what + ")");
    out = *fallback;
    return Status::Ok();
  }
  const json& v = j[name];
  bool non_negative = v.is_number_integer() && (v.is_number_unsigned() || v.get<int64_t>() >= 0);
  uint64_t u = non_negative ? v.get<uint64_t>() : 0;
  if (!non_negative || u < uint64_t(lo) || u > uint64_t(hi)) {
    return InvalidArgument("\"" + std::string(name) + "\" must be " + what);
  }
  out = T(u);
  return Status::Ok();
}

Status ReadCount(const json& j, const char* name, int& out) {
  return ReadInteger<int>(j, name, 0, 0, std::numeric_limits<int>::max(), "a non-negative integer",
                          out);
}

// Durations are added to a clock's now(): bounded, so that the sum cannot overflow (a day is
// far beyond any pause, prepare deadline or lease pgshift asks for).
constexpr int64_t kMaxDurationMs = 24LL * 3600 * 1000;

Status ReadDuration(const json& j, const char* name, milliseconds fallback, milliseconds& out) {
  int64_t ms = 0;
  RETURN_IF_ERROR(ReadInteger<int64_t>(j, name, fallback.count(), 0, kMaxDurationMs,
                                       "a non-negative integer of milliseconds up to 86400000 "
                                       "(24 h)",
                                       ms));
  out = milliseconds(ms);
  return Status::Ok();
}

Status ReadBool(const json& j, const char* name, bool& out) {
  if (!j.contains(name) || !j[name].is_boolean()) {
    return InvalidArgument("\"" + std::string(name) + "\" must be true or false");
  }
  out = j[name].get<bool>();
  return Status::Ok();
}

Status ReadString(const json& j, const char* name, bool required, std::string& out) {
  if (!j.contains(name)) {
    if (required) return InvalidArgument("\"" + std::string(name) + "\" is missing (a string)");
    return Status::Ok();
  }
  if (!j[name].is_string())
    return InvalidArgument("\"" + std::string(name) + "\" must be a string");
  out = j[name].get<std::string>();
  return Status::Ok();
}

template <typename T>
Status ReadIntegers(const json& j, const char* name, std::vector<T>& out) {
  if (!j.contains(name)) return Status::Ok();
  const json& a = j[name];
  bool ok = a.is_array();
  for (size_t i = 0; ok && i < a.size(); ++i) {
    ok = a[i].is_number_integer() && (a[i].is_number_unsigned() || a[i].get<int64_t>() >= 0);
    // In range of T too: a pid of 2^32 must not come out as another, negative, number.
    ok = ok && a[i].get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max());
    if (ok) out.push_back(T(a[i].get<uint64_t>()));
  }
  if (!ok) {
    return InvalidArgument("\"" + std::string(name) +
                           "\" must be an array of non-negative integers in range");
  }
  return Status::Ok();
}

Status RequireObject(const json& j, const char* what) {
  if (!j.is_object()) return InvalidArgument(std::string(what) + " is not a JSON object");
  return Status::Ok();
}

// The endpoint of a switch or prepare body: a non-empty host and a port in 1-65535.
Status ReadEndpoint(const json& j, const std::string& verb, std::string& host, int& port) {
  if (!j.contains("host") || !j["host"].is_string() || j["host"].get<std::string>().empty()) {
    return InvalidArgument(verb + " needs \"host\" (a string)");
  }
  host = j["host"].get<std::string>();
  if (!ReadInteger<int>(j, "port", std::nullopt, 1, 65535, "", port).ok()) {
    return InvalidArgument(verb + " needs \"port\" (1-65535)");
  }
  return Status::Ok();
}

}  // namespace

std::string ClusterRoute(const std::string& verb) { return "/v1/clusters/{cluster}/" + verb; }

std::string ClusterPath(const std::string& cluster, const std::string& verb) {
  return "/v1/clusters/" + cluster + "/" + verb;
}

Result<json> ParseBody(const std::string& text) {
  if (text.empty()) return json::object();
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("the body is not a JSON object");
  return j;
}

json PauseRequest::ToJson() const {
  json j = {{"deadline_ms", deadline.count()}, {"lease_ms", lease.count()}};
  if (not_after_unix_ms) j["not_after_unix_ms"] = *not_after_unix_ms;
  return j;
}

Result<PauseRequest> PauseRequest::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the pause request"));
  PauseRequest r;
  RETURN_IF_ERROR(ReadDuration(j, "deadline_ms", r.deadline, r.deadline));
  RETURN_IF_ERROR(ReadDuration(j, "lease_ms", r.lease, r.lease));
  if (j.contains("not_after_unix_ms")) {
    int64_t ms = 0;
    RETURN_IF_ERROR(ReadInteger<int64_t>(
        j, "not_after_unix_ms", std::nullopt, 0, std::numeric_limits<int64_t>::max() / 2,
        "a non-negative integer of milliseconds since the epoch", ms));
    r.not_after_unix_ms = ms;
  }
  return r;
}

json PauseAnswer::ToJson() const {
  if (paused) {
    return {{"paused", true}, {"sessions", sessions}, {"held_backend_pids", held_backend_pids}};
  }
  json j = {{"paused", false}, {"not_drained", not_drained}, {"reason", reason}};
  if (expired) j["expired"] = true;
  return j;
}

Result<PauseAnswer> PauseAnswer::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the pause answer"));
  PauseAnswer a;
  RETURN_IF_ERROR(ReadBool(j, "paused", a.paused));
  RETURN_IF_ERROR(ReadCount(j, "sessions", a.sessions));
  RETURN_IF_ERROR(ReadIntegers(j, "held_backend_pids", a.held_backend_pids));
  RETURN_IF_ERROR(ReadIntegers(j, "not_drained", a.not_drained));
  RETURN_IF_ERROR(ReadString(j, "reason", false, a.reason));
  if (j.contains("expired")) RETURN_IF_ERROR(ReadBool(j, "expired", a.expired));
  return a;
}

json RenewRequest::ToJson() const { return {{"lease_ms", lease.count()}}; }

Result<RenewRequest> RenewRequest::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the renew request"));
  RenewRequest r;
  RETURN_IF_ERROR(ReadDuration(j, "lease_ms", r.lease, r.lease));
  return r;
}

json RenewAnswer::ToJson() const {
  if (paused) return {{"paused", true}};
  return {{"paused", false}, {"error", error}};
}

Result<RenewAnswer> RenewAnswer::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the renew answer"));
  RenewAnswer a;
  RETURN_IF_ERROR(ReadBool(j, "paused", a.paused));
  RETURN_IF_ERROR(ReadString(j, "error", false, a.error));
  return a;
}

json PrepareRequest::ToJson() const {
  return {{"host", host}, {"port", port}, {"deadline_ms", deadline.count()}};
}

Result<PrepareRequest> PrepareRequest::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the prepare request"));
  PrepareRequest r;
  RETURN_IF_ERROR(ReadEndpoint(j, kPrepare, r.host, r.port));
  RETURN_IF_ERROR(ReadDuration(j, "deadline_ms", r.deadline, r.deadline));
  return r;
}

json PrepareAnswer::ToJson() const {
  return {{"sessions", sessions}, {"open", open}, {"failed", failed}};
}

Result<PrepareAnswer> PrepareAnswer::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the prepare answer"));
  PrepareAnswer a;
  RETURN_IF_ERROR(ReadCount(j, "sessions", a.sessions));
  RETURN_IF_ERROR(ReadCount(j, "open", a.open));
  RETURN_IF_ERROR(ReadCount(j, "failed", a.failed));
  return a;
}

json SwitchRequest::ToJson() const {
  return {{"host", host}, {"port", port}, {"version", version}};
}

Result<SwitchRequest> SwitchRequest::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the switch request"));
  SwitchRequest r;
  RETURN_IF_ERROR(ReadEndpoint(j, kSwitch, r.host, r.port));
  if (!ReadInteger<uint64_t>(j, "version", std::nullopt, 1, std::numeric_limits<uint64_t>::max(),
                             "", r.version)
           .ok()) {
    return InvalidArgument("switch needs \"version\" (a positive integer above the current one)");
  }
  return r;
}

json SwitchAnswer::ToJson() const {
  return {{"version", version},
          {"moved", moved},
          {"pending", pending},
          {"replication_staying", replication_staying}};
}

Result<SwitchAnswer> SwitchAnswer::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the switch answer"));
  SwitchAnswer a;
  RETURN_IF_ERROR(ReadInteger<uint64_t>(j, "version", std::nullopt, 0,
                                        std::numeric_limits<uint64_t>::max(),
                                        "a non-negative integer", a.version));
  RETURN_IF_ERROR(ReadCount(j, "moved", a.moved));
  RETURN_IF_ERROR(ReadCount(j, "pending", a.pending));
  RETURN_IF_ERROR(ReadCount(j, "replication_staying", a.replication_staying));
  return a;
}

json ResumeAnswer::ToJson() const { return {{"paused", paused}}; }

Result<ResumeAnswer> ResumeAnswer::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the resume answer"));
  ResumeAnswer a;
  RETURN_IF_ERROR(ReadBool(j, "paused", a.paused));
  return a;
}

json RoutesAnswer::ToJson() const {
  json routes_json = json::object();
  for (const auto& [name, r] : routes) {
    routes_json[name] = {
        {"host", r.host},     {"port", r.port}, {"version", r.version},    {"tls", r.tls},
        {"paused", r.paused}, {"user", r.user}, {"confirmed", r.confirmed}};
  }
  return {{"version", version}, {"routes", routes_json}};
}

Result<RoutesAnswer> RoutesAnswer::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the routes answer"));
  RoutesAnswer a;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  RETURN_IF_ERROR(ReadInteger<uint64_t>(j, "version", std::nullopt, 0, kMax,
                                        "a non-negative integer", a.version));
  if (!j.contains("routes") || !j["routes"].is_object()) {
    return InvalidArgument("\"routes\" must be an object (cluster -> route)");
  }
  const json& all = j["routes"];
  for (auto it = all.begin(); it != all.end(); ++it) {
    const std::string& name = it.key();
    const json& r = it.value();
    Status read = RequireObject(r, "a route");
    RouteInfo info;
    if (read.ok()) read = ReadString(r, "host", true, info.host);
    if (read.ok()) {
      read = ReadInteger<int>(r, "port", std::nullopt, 0, 65535, "a port (0-65535)", info.port);
    }
    if (read.ok()) {
      read = ReadInteger<uint64_t>(r, "version", std::nullopt, 0, kMax, "a non-negative integer",
                                   info.version);
    }
    if (read.ok()) read = ReadBool(r, "tls", info.tls);
    if (read.ok()) read = ReadBool(r, "paused", info.paused);
    if (read.ok()) read = ReadString(r, "user", false, info.user);
    if (read.ok() && r.contains("confirmed")) read = ReadBool(r, "confirmed", info.confirmed);
    if (!read.ok()) return InvalidArgument("route \"" + name + "\": " + read.message());
    a.routes[name] = std::move(info);
  }
  return a;
}

json ErrorAnswer::ToJson() const {
  json j = {{"error", error}};
  if (version) j["version"] = *version;
  return j;
}

Result<ErrorAnswer> ErrorAnswer::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "the error answer"));
  ErrorAnswer a;
  RETURN_IF_ERROR(ReadString(j, "error", true, a.error));
  if (j.contains("version")) {
    uint64_t v = 0;
    RETURN_IF_ERROR(ReadInteger<uint64_t>(j, "version", std::nullopt, 0,
                                          std::numeric_limits<uint64_t>::max(),
                                          "a non-negative integer", v));
    a.version = v;
  }
  return a;
}

}  // namespace pgshift::proxy_admin
