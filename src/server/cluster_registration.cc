// Judging a cluster registration field by field.
#include "server/cluster_registration.h"

#include <regex>

#include "migration/secret_ref.h"
#include "pg/conninfo.h"
#include "workflow/router_spec.h"

namespace pgshift::server {
namespace {

// Each judgement answers an empty ApiError when the member is fine, or the first problem.
#define RETURN_IF_REJECTED(expr)                  \
  do {                                            \
    ApiError _rejected = (expr);                  \
    if (!_rejected.status.ok()) return _rejected; \
  } while (0)

ApiError Reject(const std::string& field, const std::string& problem) {
  return {InvalidArgument(field + ": " + problem), field};
}

ApiError Member(const nlohmann::json& obj, const std::string& key, const std::string& field,
                const nlohmann::json** out) {
  if (!obj.contains(key)) return Reject(field, "missing");
  *out = &obj.at(key);
  return {};
}

ApiError String(const nlohmann::json& obj, const std::string& key, const std::string& field,
                bool required, std::string* out) {
  out->clear();
  if (!obj.contains(key) || obj.at(key).is_null()) {
    return required ? Reject(field, "missing") : ApiError{};
  }
  if (!obj.at(key).is_string()) return Reject(field, "must be a string");
  *out = obj.at(key).get<std::string>();
  if (required && out->empty()) return Reject(field, "must not be empty");
  return {};
}

ApiError Object(const nlohmann::json& v, const std::string& field) {
  return v.is_object() ? ApiError{} : Reject(field, "must be a JSON object");
}

ApiError OnlyKeys(const nlohmann::json& obj, std::initializer_list<const char*> keys,
                  const std::string& prefix) {
  for (const auto& [k, v] : obj.items()) {
    bool known = false;
    for (const char* want : keys) known = known || k == want;
    if (!known) return Reject(prefix + k, "unknown field");
  }
  return {};
}

// A conninfo that parses and holds no password (passwords are references).
ApiError Conninfo(const std::string& text, const std::string& field) {
  auto parsed = ConnInfo::Parse(text, field);
  if (!parsed.ok()) return Reject(field, parsed.status().message());
  if (!parsed->Get("password").empty()) {
    return Reject(field,
                  "holds a password; give the password as a reference instead ({\"file\": "
                  "PATH} or {\"env\": NAME} in the password field)");
  }
  return {};
}

// A secret reference the server can read now; the value is dropped at once.
ApiError Secret(const nlohmann::json& v, const std::string& field, bool files_only,
                nlohmann::json* out) {
  auto ref = SecretRef::FromJson(v, field);
  if (!ref.ok()) return Reject(field, "give {\"file\": PATH} or {\"env\": NAME}");
  if (files_only && ref->kind != SecretRef::Kind::kFile) {
    return Reject(field, "proxy admin tokens are read from files only: give {\"file\": PATH}");
  }
  auto value = ref->Resolve();
  if (!value.ok()) return Reject(field, "the server cannot read " + ref->Describe());
  *out = ref->ToJson();
  return {};
}

bool ValidName(const std::string& name) {
  static const std::regex ok("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
  return std::regex_match(name, ok);
}

ApiError ParseSource(const nlohmann::json& body, nlohmann::json* out) {
  const nlohmann::json* source = nullptr;
  RETURN_IF_REJECTED(Member(body, "source", "source", &source));
  RETURN_IF_REJECTED(Object(*source, "source"));
  RETURN_IF_REJECTED(OnlyKeys(*source, {"conninfo", "password", "data_dir"}, "source."));
  std::string conninfo, data_dir;
  RETURN_IF_REJECTED(String(*source, "conninfo", "source.conninfo", true, &conninfo));
  RETURN_IF_REJECTED(Conninfo(conninfo, "source.conninfo"));
  nlohmann::json src = {{"conninfo", conninfo}};
  if (source->contains("password")) {
    RETURN_IF_REJECTED(Secret((*source)["password"], "source.password", false, &src["password"]));
  }
  RETURN_IF_REJECTED(String(*source, "data_dir", "source.data_dir", false, &data_dir));
  if (!data_dir.empty()) src["data_dir"] = data_dir;
  *out = std::move(src);
  return {};
}

ApiError ParseProxies(const nlohmann::json& p, nlohmann::json* out) {
  RETURN_IF_REJECTED(Object(p, "proxies"));
  RETURN_IF_REJECTED(OnlyKeys(p, {"cluster", "admins"}, "proxies."));
  std::string cluster;
  RETURN_IF_REJECTED(String(p, "cluster", "proxies.cluster", true, &cluster));
  const nlohmann::json* admins = nullptr;
  RETURN_IF_REJECTED(Member(p, "admins", "proxies.admins", &admins));
  if (!admins->is_array() || admins->empty()) {
    return Reject("proxies.admins", "must be a non-empty array");
  }
  nlohmann::json proxies = {{"cluster", cluster}, {"admins", nlohmann::json::array()}};
  for (size_t i = 0; i < admins->size(); ++i) {
    const nlohmann::json& admin = (*admins)[i];
    const std::string f = "proxies.admins[" + std::to_string(i) + "]";
    RETURN_IF_REJECTED(Object(admin, f));
    RETURN_IF_REJECTED(OnlyKeys(admin, {"address", "token"}, f + "."));
    std::string address;
    RETURN_IF_REJECTED(String(admin, "address", f + ".address", true, &address));
    if (address.find(':') == std::string::npos) return Reject(f + ".address", "is not HOST:PORT");
    const nlohmann::json* token = nullptr;
    RETURN_IF_REJECTED(Member(admin, "token", f + ".token", &token));
    nlohmann::json ref;
    RETURN_IF_REJECTED(Secret(*token, f + ".token", true, &ref));
    proxies["admins"].push_back({{"address", address}, {"token", ref}});
  }
  *out = std::move(proxies);
  return {};
}

ApiError ParseTarget(const nlohmann::json& body, nlohmann::json* out) {
  const nlohmann::json* target = nullptr;
  RETURN_IF_REJECTED(Member(body, "target", "target", &target));
  RETURN_IF_REJECTED(Object(*target, "target"));
  std::string kind;
  RETURN_IF_REJECTED(String(*target, "kind", "target.kind", true, &kind));
  nlohmann::json t = {{"kind", kind}};
  if (kind == "local") {
    RETURN_IF_REJECTED(OnlyKeys(*target, {"kind", "dir", "port"}, "target."));
    std::string dir;
    RETURN_IF_REJECTED(String(*target, "dir", "target.dir", true, &dir));
    if (dir[0] != '/') return Reject("target.dir", "must be an absolute path");
    t["dir"] = dir;
    if (target->contains("port")) {
      const nlohmann::json& port = (*target)["port"];
      if (!port.is_number_integer() || port.get<int64_t>() <= 0 || port.get<int64_t>() > 65535) {
        return Reject("target.port", "must be a port number");
      }
      t["port"] = port;
    }
  } else if (kind == "replica") {
    RETURN_IF_REJECTED(OnlyKeys(*target,
                                {"kind", "conninfo", "password", "fence_command", "unfence_command",
                                 "target_fence_command", "target_unfence_command"},
                                "target."));
    std::string conninfo, fence, unfence, target_fence, target_unfence;
    RETURN_IF_REJECTED(String(*target, "conninfo", "target.conninfo", true, &conninfo));
    RETURN_IF_REJECTED(Conninfo(conninfo, "target.conninfo"));
    t["conninfo"] = conninfo;
    if (target->contains("password")) {
      RETURN_IF_REJECTED(Secret((*target)["password"], "target.password", false, &t["password"]));
    }
    RETURN_IF_REJECTED(String(*target, "fence_command", "target.fence_command", false, &fence));
    RETURN_IF_REJECTED(
        String(*target, "unfence_command", "target.unfence_command", false, &unfence));
    if (fence.empty() != unfence.empty()) {
      return Reject(fence.empty() ? "target.fence_command" : "target.unfence_command",
                    "fence_command and unfence_command go together");
    }
    if (!fence.empty()) {
      t["fence_command"] = fence;
      t["unfence_command"] = unfence;
    }
    RETURN_IF_REJECTED(String(*target, "target_fence_command", "target.target_fence_command", false,
                              &target_fence));
    RETURN_IF_REJECTED(String(*target, "target_unfence_command", "target.target_unfence_command",
                              false, &target_unfence));
    if (target_fence.empty() != target_unfence.empty()) {
      return Reject(
          target_fence.empty() ? "target.target_fence_command" : "target.target_unfence_command",
          "target_fence_command and target_unfence_command go together");
    }
    if (!target_fence.empty()) {
      t["target_fence_command"] = target_fence;
      t["target_unfence_command"] = target_unfence;
    }
  } else {
    return Reject("target.kind", "must be \"local\" or \"replica\"");
  }
  *out = std::move(t);
  return {};
}

ApiError Parse(const nlohmann::json& body, ClusterRecord* c) {
  RETURN_IF_REJECTED(OnlyKeys(body, {"name", "team", "labels", "source", "proxies", "target"}, ""));
  RETURN_IF_REJECTED(String(body, "name", "name", true, &c->name));
  if (!ValidName(c->name)) return Reject("name", "use 1-63 letters, digits, '_', '.', '-'");
  RETURN_IF_REJECTED(String(body, "team", "team", true, &c->team));
  if (!ValidName(c->team)) return Reject("team", "use 1-63 letters, digits, '_', '.', '-'");
  if (body.contains("labels")) {
    RETURN_IF_REJECTED(Object(body["labels"], "labels"));
    for (const auto& [k, v] : body["labels"].items()) {
      if (!v.is_string()) return Reject("labels." + k, "must be a string");
    }
    c->labels = body["labels"];
  }
  nlohmann::json reg = nlohmann::json::object();
  RETURN_IF_REJECTED(ParseSource(body, &reg["source"]));
  if (body.contains("proxies") && !body["proxies"].is_null()) {
    RETURN_IF_REJECTED(ParseProxies(body["proxies"], &reg["proxies"]));
  }
  RETURN_IF_REJECTED(ParseTarget(body, &reg["target"]));
  c->registration = std::move(reg);
  return {};
}

#undef RETURN_IF_REJECTED

}  // namespace

RegistrationResult ParseClusterRegistration(const nlohmann::json& body) {
  RegistrationResult out;
  if (!body.is_object()) {
    out.error = {InvalidArgument("the request body is not a JSON object"), ""};
    return out;
  }
  ClusterRecord cluster;
  out.error = Parse(body, &cluster);
  if (out.error.status.ok()) out.cluster = std::move(cluster);
  return out;
}

nlohmann::json ClusterJson(const ClusterRecord& c) {
  nlohmann::json j = {
      {"name", c.name}, {"team", c.team}, {"labels", c.labels}, {"created_at", c.created_at}};
  for (const char* k : {"source", "proxies", "target"}) {
    j[k] = c.registration.contains(k) ? c.registration[k] : nlohmann::json(nullptr);
  }
  return j;
}

Result<StartRequest> StartRequestFor(const ClusterRecord& cluster, const std::string& name) {
  const nlohmann::json& reg = cluster.registration;
  StartRequest req;
  req.name = name;
  req.source = reg["source"].value("conninfo", "");
  if (reg["source"].contains("password")) {
    ASSIGN_OR_RETURN(req.options.source_password,
                     SecretRef::FromJson(reg["source"]["password"], "source.password"));
  }
  const nlohmann::json& t = reg["target"];
  if (t.value("kind", "") == "local") {
    req.create_target_dir = t.value("dir", "");
    if (t.contains("port")) req.target_port = t["port"].get<int>();
  } else {
    req.target = t.value("conninfo", "");
    if (t.contains("password")) {
      ASSIGN_OR_RETURN(req.options.target_password,
                       SecretRef::FromJson(t["password"], "target.password"));
    }
    if (t.contains("fence_command")) {
      req.options.fence_command = t["fence_command"].get<std::string>();
      req.options.unfence_command = t["unfence_command"].get<std::string>();
    }
    if (t.contains("target_fence_command")) {
      req.options.target_fence_command = t["target_fence_command"].get<std::string>();
      req.options.target_unfence_command = t["target_unfence_command"].get<std::string>();
    }
  }
  if (reg.contains("proxies")) {
    std::vector<ProxyAdminSpec> proxies;
    for (const auto& a : reg["proxies"]["admins"]) {
      proxies.push_back({a.value("address", ""), a["token"].value("file", "")});
    }
    req.options.router = RouterSpec::Proxy(reg["proxies"].value("cluster", ""), proxies).ToJson();
  }
  return req;
}

}  // namespace pgshift::server
