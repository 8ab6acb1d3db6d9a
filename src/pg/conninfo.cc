// Conninfo parsing through libpq itself, so pgshift accepts exactly what libpq accepts.
#include "pg/conninfo.h"

#include <libpq-fe.h>

namespace pgshift {
namespace {

std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

std::string Render(const std::map<std::string, std::string>& params, bool with_secret) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!with_secret && (k == "password" || k == "sslpassword")) continue;
    if (!out.empty()) out += ' ';
    out += k + "=" + Quote(v);
  }
  return out;
}

}  // namespace

Result<ConnInfo> ConnInfo::Parse(const std::string& text, const std::string& role) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(text.c_str(), &err);
  if (!opts) {
    std::string why = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return InvalidArgument(role + ": malformed connection string: " + why +
                           " (expected e.g. 'host=127.0.0.1 port=5432 user=postgres "
                           "dbname=postgres' or a postgresql:// URI)");
  }
  ConnInfo ci;
  ci.raw_ = text;
  ci.role_ = role;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (o->val && *o->val) ci.params_[o->keyword] = o->val;
  }
  PQconninfoFree(opts);
  return ci;
}

std::string ConnInfo::Get(const std::string& key) const {
  auto it = params_.find(key);
  return it == params_.end() ? "" : it->second;
}

std::string ConnInfo::Label() const {
  std::string host = Get("host").empty() ? "localhost" : Get("host");
  std::string port = Get("port").empty() ? "5432" : Get("port");
  std::string s = role_ + " (" + host + ":" + port;
  if (!Get("dbname").empty()) s += " dbname=" + Get("dbname");
  if (!Get("user").empty()) s += " user=" + Get("user");
  return s + ")";
}

ConnInfo ConnInfo::With(const std::string& key, const std::string& value) const {
  ConnInfo c = *this;
  c.params_[key] = value;
  c.raw_ = Render(c.params_, true);
  return c;
}

std::string ConnInfo::Redacted() const { return Render(params_, false); }

}  // namespace pgshift
