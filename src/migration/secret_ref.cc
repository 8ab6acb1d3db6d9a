// Reading a secret from the file or environment variable a SecretRef names.
#include "migration/secret_ref.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pgshift {

Result<SecretRef> SecretRef::FromJson(const nlohmann::json& j, const std::string& field) {
  auto bad = [&] {
    return InvalidArgument(field +
                           ": give a secret reference, {\"file\": PATH} or {\"env\": NAME}");
  };
  if (!j.is_object() || j.size() != 1) return bad();
  SecretRef r;
  if (j.contains("file")) {
    r.kind = Kind::kFile;
  } else if (j.contains("env")) {
    r.kind = Kind::kEnv;
  } else {
    return bad();
  }
  const nlohmann::json& v = j.begin().value();
  if (!v.is_string() || v.get<std::string>().empty()) return bad();
  r.name = v.get<std::string>();
  return r;
}

nlohmann::json SecretRef::ToJson() const { return {{kind == Kind::kFile ? "file" : "env", name}}; }

std::string SecretRef::Describe() const {
  return kind == Kind::kFile ? "file " + name : "environment variable " + name;
}

Result<std::string> SecretRef::Resolve() const {
  std::string value;
  if (kind == Kind::kEnv) {
    const char* v = std::getenv(name.c_str());
    if (!v) return InvalidArgument("secret " + Describe() + " is not set");
    value = v;
  } else {
    std::ifstream in(name, std::ios::binary);
    if (!in) {
      return InvalidArgument("secret " + Describe() + " cannot be read (" +
                             std::string(std::strerror(errno)) + ")");
    }
    std::ostringstream all;
    all << in.rdbuf();
    value = all.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  }
  if (value.empty()) return InvalidArgument("secret " + Describe() + " is empty");
  return value;
}

}  // namespace pgshift
