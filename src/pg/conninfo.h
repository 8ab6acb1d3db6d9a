// ConnInfo: a libpq connection string, validated, with a printable form that never shows
// the password. Every error about an endpoint names it by Label(), never by the raw string.
#pragma once

#include <map>
#include <string>

#include "common/status.h"

namespace pgshift {

class ConnInfo {
 public:
  // `role` names the endpoint in errors ("source", "target"). kInvalidArgument, naming the
  // role and libpq's complaint, when the string does not parse.
  static Result<ConnInfo> Parse(const std::string& text, const std::string& role);

  const std::string& raw() const { return raw_; }  // holds secrets: pass only to libpq
  const std::string& role() const { return role_; }
  std::string Get(const std::string& key) const;  // "" when absent
  // "source (host=127.0.0.1 port=5432 dbname=postgres user=postgres)": no password.
  std::string Label() const;
  // The same connection to another database, or with replication=database etc.
  ConnInfo With(const std::string& key, const std::string& value) const;
  // Keyword form without the password, e.g. for primary_conninfo templates shown to people.
  std::string Redacted() const;

 private:
  std::string raw_;
  std::string role_;
  std::map<std::string, std::string> params_;
};

}  // namespace pgshift
