// Judging a cluster registration field by field.
#include "server/cluster_registration.h"

#include <regex>

#include "migration/secret_ref.h"
#include "pg/conninfo.h"
#include "workflow/router_spec.h"

namespace pgshift::server {
namespace {

struct Fail {
  ApiError error;
};

[[noreturn]] void Reject(const std::string& field, const std::string& problem) {
  throw Fail{{InvalidArgument(field + ": " + problem), field}};
}

const nlohmann::json& Member(const nlohmann::json& obj, const std::string& key,
                             const std::string& field) {
  if (!obj.contains(key)) Reject(field, "missing");
  return obj.at(key);
}

std::string String(const nlohmann::json& obj, const std::string& key, const std::string& field,
                   bool required) {
  if (!obj.contains(key) || obj.at(key).is_null()) {
    if (required) Reject(field, "missing");
    return "";
  }
  if (!obj.at(key).is_string()) Reject(field, "must be a string");
  std::string v = obj.at(key).get<std::string>();
  if (required && v.empty()) Reject(field, "must not be empty");
  return v;
}

void Object(const nlohmann::json& v, const std::string& field) {
  if (!v.is_object()) Reject(field, "must be a JSON object");
}

void OnlyKeys(const nlohmann::json& obj, std::initializer_list<const char*> keys,
              const std::string& prefix) {
  for (const auto& [k, v] : obj.items()) {
    bool known = false;
    for (const char* want : keys) known = known || k == want;
    if (!known) Reject(prefix + k, "unknown field");
  }
}

// A conninfo that parses and holds no password (passwords are references).
void Conninfo(const std::string& text, const std::string& field) {
  auto parsed = ConnInfo::Parse(text, field);
  if (!parsed.ok()) Reject(field, parsed.status().message());
  if (!parsed->Get("password").empty()) {
    Reject(field,
           "holds a password; give the password as a reference instead ({\"file\": PATH} or "
           "{\"env\": NAME} in the password field)");
  }
}

// A secret reference the server can read now; the value is dropped at once.
nlohmann::json Secret(const nlohmann::json& v, const std::string& field, bool files_only) {
  auto ref = SecretRef::FromJson(v, field);
  if (!ref.ok()) Reject(field, "give {\"file\": PATH} or {\"env\": NAME}");
  if (files_only && ref->kind != SecretRef::Kind::kFile) {
    Reject(field, "proxy admin tokens are read from files only: give {\"file\": PATH}");
  }
  auto value = ref->Resolve();
  if (!value.ok()) Reject(field, "the server cannot read " + ref->Describe());
  return ref->ToJson();
}

bool ValidName(const std::string& name) {
  static const std::regex ok("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
  return std::regex_match(name, ok);
}

ClusterRecord Parse(const nlohmann::json& body) {
  OnlyKeys(body, {"name", "team", "labels", "source", "proxies", "target"}, "");
  ClusterRecord c;
  c.name = String(body, "name", "name", true);
  if (!ValidName(c.name)) Reject("name", "use 1-63 letters, digits, '_', '.', '-'");
  c.team = String(body, "team", "team", true);
  if (!ValidName(c.team)) Reject("team", "use 1-63 letters, digits, '_', '.', '-'");
  if (body.contains("labels")) {
    Object(body["labels"], "labels");
    for (const auto& [k, v] : body["labels"].items()) {
      if (!v.is_string()) Reject("labels." + k, "must be a string");
    }
    c.labels = body["labels"];
  }
  nlohmann::json reg = nlohmann::json::object();

  const nlohmann::json& source = Member(body, "source", "source");
  Object(source, "source");
  OnlyKeys(source, {"conninfo", "password", "data_dir"}, "source.");
  nlohmann::json src = {{"conninfo", String(source, "conninfo", "source.conninfo", true)}};
  Conninfo(src["conninfo"], "source.conninfo");
  if (source.contains("password")) {
    src["password"] = Secret(source["password"], "source.password", false);
  }
  std::string data_dir = String(source, "data_dir", "source.data_dir", false);
  if (!data_dir.empty()) src["data_dir"] = data_dir;
  reg["source"] = src;

  if (body.contains("proxies") && !body["proxies"].is_null()) {
    const nlohmann::json& p = body["proxies"];
    Object(p, "proxies");
    OnlyKeys(p, {"cluster", "admins"}, "proxies.");
    nlohmann::json proxies = {{"cluster", String(p, "cluster", "proxies.cluster", true)}};
    const nlohmann::json& admins = Member(p, "admins", "proxies.admins");
    if (!admins.is_array() || admins.empty()) {
      Reject("proxies.admins", "must be a non-empty array");
    }
    proxies["admins"] = nlohmann::json::array();
    for (size_t i = 0; i < admins.size(); ++i) {
      const std::string f = "proxies.admins[" + std::to_string(i) + "]";
      Object(admins[i], f);
      OnlyKeys(admins[i], {"address", "token"}, f + ".");
      std::string address = String(admins[i], "address", f + ".address", true);
      if (address.find(':') == std::string::npos) Reject(f + ".address", "is not HOST:PORT");
      proxies["admins"].push_back(
          {{"address", address},
           {"token", Secret(Member(admins[i], "token", f + ".token"), f + ".token", true)}});
    }
    reg["proxies"] = proxies;
  }

  const nlohmann::json& target = Member(body, "target", "target");
  Object(target, "target");
  const std::string kind = String(target, "kind", "target.kind", true);
  nlohmann::json t = {{"kind", kind}};
  if (kind == "local") {
    OnlyKeys(target, {"kind", "dir", "port"}, "target.");
    t["dir"] = String(target, "dir", "target.dir", true);
    if (t["dir"].get<std::string>()[0] != '/') Reject("target.dir", "must be an absolute path");
    if (target.contains("port")) {
      if (!target["port"].is_number_integer() || target["port"].get<int>() <= 0 ||
          target["port"].get<int>() > 65535) {
        Reject("target.port", "must be a port number");
      }
      t["port"] = target["port"];
    }
  } else if (kind == "replica") {
    OnlyKeys(target, {"kind", "conninfo", "password", "fence_command", "unfence_command"},
             "target.");
    t["conninfo"] = String(target, "conninfo", "target.conninfo", true);
    Conninfo(t["conninfo"], "target.conninfo");
    if (target.contains("password")) {
      t["password"] = Secret(target["password"], "target.password", false);
    }
    std::string fence = String(target, "fence_command", "target.fence_command", false);
    std::string unfence = String(target, "unfence_command", "target.unfence_command", false);
    if (fence.empty() != unfence.empty()) {
      Reject(fence.empty() ? "target.fence_command" : "target.unfence_command",
             "fence_command and unfence_command go together");
    }
    if (!fence.empty()) {
      t["fence_command"] = fence;
      t["unfence_command"] = unfence;
    }
  } else {
    Reject("target.kind", "must be \"local\" or \"replica\"");
  }
  reg["target"] = t;
  c.registration = reg;
  return c;
}

}  // namespace

RegistrationResult ParseClusterRegistration(const nlohmann::json& body) {
  RegistrationResult out;
  if (!body.is_object()) {
    out.error = {InvalidArgument("the request body is not a JSON object"), ""};
    return out;
  }
  // Fail unwinds the nested judgement to here; it never leaves this file.
  try {
    out.cluster = Parse(body);
  } catch (const Fail& f) {
    out.error = f.error;
  } catch (const nlohmann::json::exception& e) {
    out.error = {InvalidArgument(std::string("malformed registration: ") + e.what()), ""};
  }
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
