// SecretRef: where a secret lives, never the secret. A migration started by the server keeps
// its passwords as references ({"file":PATH} or {"env":NAME}) in the stored spec; the engine
// resolves them only when it opens connections (MigrationContext), so neither the store nor
// anything shown from it ever holds the value. Errors name the reference (the file's path or
// the variable's name), never a value.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace pgshift {

struct SecretRef {
  enum class Kind { kFile, kEnv };
  Kind kind = Kind::kFile;
  std::string name;  // kFile: the path; kEnv: the variable's name

  // {"file":"/p"} or {"env":"NAME"}; kInvalidArgument naming `field` otherwise.
  static Result<SecretRef> FromJson(const nlohmann::json& j, const std::string& field);
  nlohmann::json ToJson() const;
  // "file /etc/pgshift/orders.pw" or "environment variable ORDERS_PW": for messages.
  std::string Describe() const;

  // The secret: the file's content without its trailing newline, or the variable's value.
  // kInvalidArgument naming the reference when it cannot be read or is empty.
  Result<std::string> Resolve() const;
};

}  // namespace pgshift
