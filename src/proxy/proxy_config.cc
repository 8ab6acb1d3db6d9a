// Parsing and validation of the proxy's configuration file.
#include "proxy/proxy_config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ini_file.h"
#include "common/log.h"
#include "common/loopback_host.h"

namespace pgshift::proxy {
namespace {

std::set<std::string> SplitList(const std::string& v) {
  std::set<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = TrimIni(item);
    if (!item.empty()) out.insert(item);
  }
  return out;
}

// Everything the parser needs to name a location in an error, and to resolve a relative path.
struct Where : IniLocation {
  std::string dir;  // relative file paths are resolved against the config's folder
};

Result<int> ParsePort(const Where& w, const std::string& v) {
  int port = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
  if (ec != std::errc() || p != v.data() + v.size() || port < 1 || port > 65535) {
    return w.Error("'" + v + "' is not a port (1-65535)");
  }
  return port;
}

// "127.0.0.1:6432" -> host, port.
Status ParseAddress(const Where& w, const std::string& v, std::string& host, int& port) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return w.Error("'" + v + "' is not HOST:PORT (e.g. 127.0.0.1:6432)");
  }
  host = v.substr(0, colon);
  ASSIGN_OR_RETURN(port, ParsePort(w, v.substr(colon + 1)));
  return Status::Ok();
}

// Also require/disable, as libpq's sslmode spells them.
Result<bool> ParseBool(const Where& w, const std::string& v) {
  if (v == "require") return true;
  if (v == "disable") return false;
  return ParseIniBool(w, v);
}

std::string Resolve(const Where& w, const std::string& path) {
  if (path.empty() || path[0] == '/' || w.dir.empty()) return path;
  return (std::filesystem::path(w.dir) / path).string();
}

// Reads a one-line secret; the message names the file, never the content. A file that group
// or others may read adds a warning to `warnings`.
Result<std::string> ReadSecret(const Where& w, const std::string& path,
                               std::vector<std::string>& warnings) {
  std::ifstream in(path);
  if (!in) return w.Error("cannot read file " + path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    warnings.push_back(w.origin + ":" + std::to_string(w.line) + ": " + w.key + ": secret file " +
                       path + " is readable by group or others (chmod 600 it)");
  }
  std::string first;
  std::getline(in, first);
  while (!first.empty() && (first.back() == '\r' || first.back() == ' ')) first.pop_back();
  if (first.empty()) return w.Error("file " + path + " is empty (expected the secret on line 1)");
  return first;
}

Status ReadableFile(const Where& w, const std::string& path) {
  std::ifstream in(path);
  if (!in) return w.Error("cannot read file " + path);
  return Status::Ok();
}

Status SetProxyKey(ProxyConfig& c, const Where& w, const std::string& v) {
  const std::string& k = w.key;
  if (k == "listen") return ParseAddress(w, v, c.listen_host, c.listen_port);
  if (k == "admin_listen") {
    c.admin_listen_line = w.line;
    return ParseAddress(w, v, c.admin_host, c.admin_port);
  }
  if (k == "admin_token_file") {
    ASSIGN_OR_RETURN(c.admin_token, ReadSecret(w, Resolve(w, v), c.warnings));
    return Status::Ok();
  }
  if (k == "client_tls") {
    ASSIGN_OR_RETURN(c.client_tls, ParseBool(w, v));
    return Status::Ok();
  }
  if (k == "tls_cert" || k == "tls_key" || k == "client_ca") {
    std::string path = Resolve(w, v);
    RETURN_IF_ERROR(ReadableFile(w, path));
    (k == "tls_cert" ? c.tls_cert : k == "tls_key" ? c.tls_key : c.client_ca) = path;
    return Status::Ok();
  }
  if (k == "admin_tls_cert" || k == "admin_tls_key") {
    std::string path = Resolve(w, v);
    RETURN_IF_ERROR(ReadableFile(w, path));
    (k == "admin_tls_cert" ? c.admin_tls_cert : c.admin_tls_key) = path;
    return Status::Ok();
  }
  if (k == "threads") {
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 256) {
      return w.Error("'" + v + "' is not a thread count (1-256)");
    }
    c.threads = n;
    return Status::Ok();
  }
  if (k == "buffer_kb") {
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 16 || n > 65536) {
      return w.Error("'" + v + "' is not a buffer size in KiB (16-65536)");
    }
    c.buffer_bytes = size_t(n) * 1024;
    return Status::Ok();
  }
  if (k == "io_engine") {
    if (v == "epoll")
      c.io_engine = IoEngine::kEpoll;
    else if (v == "io_uring")
      c.io_engine = IoEngine::kIoUring;
    else
      return w.Error("'" + v + "' is not an I/O engine (epoll or io_uring)");
    return Status::Ok();
  }
  if (k == "max_client_connections" || k == "max_pending_handshakes_per_address") {
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 1000000) {
      return w.Error("'" + v + "' is not a connection count (1-1000000)");
    }
    (k == "max_client_connections" ? c.max_client_connections
                                   : c.max_pending_handshakes_per_address) = n;
    return Status::Ok();
  }
  if (k == "pool_size") {
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 0 || n > 10000) {
      return w.Error("'" + v + "' is not a pool size (0-10000 idle backends; 0 disables)");
    }
    c.pool_size = n;
    return Status::Ok();
  }
  if (k == "pool_idle_timeout") {
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 86400) {
      return w.Error("'" + v + "' is not an idle timeout in seconds (1-86400)");
    }
    c.pool_idle_timeout_s = n;
    return Status::Ok();
  }
  return w.Error(
      "unknown key in [proxy] (expected listen, admin_listen, admin_token_file, "
      "admin_tls_cert, admin_tls_key, client_tls, tls_cert, tls_key, client_ca, threads, "
      "buffer_kb, io_engine, max_client_connections, max_pending_handshakes_per_address, "
      "pool_size, pool_idle_timeout)");
}

// Backend authentication keys: auth_methods, tls (on/off/verify-full), tls_ca_file,
// tls_server_name. False when `w.key` is not one of them.
bool SetClusterAuthKey(ClusterConfig& c, const Where& w, const std::string& v, Status& st) {
  const std::string& k = w.key;
  BackendAuthPolicy& a = c.auth;
  if (k == "auth_methods") {
    BackendAuthPolicy methods{.scram = false};
    for (const std::string& m : SplitList(v)) {
      if (m == "scram-sha-256")
        methods.scram = true;
      else if (m == "md5")
        methods.md5 = true;
      else if (m == "password")
        methods.password = true;
      else if (m == "none")
        methods.none = true;
      else {
        st = w.Error("'" + m +
                     "' is not an authentication method (scram-sha-256, md5, password, none)");
        return true;
      }
    }
    if (!methods.scram && !methods.md5 && !methods.password && !methods.none) {
      st = w.Error("lists no method (e.g. auth_methods = scram-sha-256)");
      return true;
    }
    a.scram = methods.scram;
    a.md5 = methods.md5;
    a.password = methods.password;
    a.none = methods.none;
  } else if (k == "tls") {
    a.verify_full = v == "verify-full";
    if (a.verify_full) {
      c.tls = BackendTls::kRequire;
    } else if (v == "on" || v == "true" || v == "yes" || v == "require") {
      c.tls = BackendTls::kRequire;
    } else if (v == "off" || v == "false" || v == "no" || v == "disable") {
      c.tls = BackendTls::kDisable;
    } else {
      st = w.Error("'" + v + "' is not off, on or verify-full");
    }
  } else if (k == "tls_ca_file") {
    a.ca_file = Resolve(w, v);
    st = ReadableFile(w, a.ca_file);
  } else if (k == "tls_server_name") {
    a.server_name = v;
  } else {
    return false;
  }
  return true;
}

Status SetClusterKey(ClusterConfig& c, const Where& w, const std::string& v,
                     std::vector<std::string>& warnings) {
  const std::string& k = w.key;
  if (Status st; SetClusterAuthKey(c, w, v, st)) return st;
  if (k == "host")
    c.host = v;
  else if (k == "port") {
    ASSIGN_OR_RETURN(c.port, ParsePort(w, v));
  } else if (k == "database")
    c.database = v;
  else if (k == "user")
    c.user = v;
  else if (k == "password_file") {
    ASSIGN_OR_RETURN(c.password, ReadSecret(w, Resolve(w, v), warnings));
  } else {
    return w.Error("unknown key in [cluster " + c.name +
                   "] (expected host, port, database, user, password_file, tls, auth_methods, "
                   "tls_ca_file, tls_server_name)");
  }
  return Status::Ok();
}

Status SetIdentityKey(IdentityConfig& c, const Where& w, const std::string& v) {
  if (w.key == "databases")
    c.databases = SplitList(v);
  else if (w.key == "roles")
    c.roles = SplitList(v);
  else if (w.key == "replication") {
    ASSIGN_OR_RETURN(c.replication, ParseBool(w, v));
  } else {
    return w.Error("unknown key in [identity " + c.name +
                   "] (expected databases, roles, replication)");
  }
  return Status::Ok();
}

// The admin API carries the bearer token that can pause and reroute every cluster: beyond
// loopback it is served over HTTPS only.
Status ValidateAdminListen(const ProxyConfig& c, const std::string& origin) {
  Where w{{origin, c.admin_listen_line, "admin_listen"}, ""};
  if (c.admin_tls_cert.empty() != c.admin_tls_key.empty()) {
    return w.Error("admin_tls_cert and admin_tls_key go together: set both (HTTPS) or neither");
  }
  if (!IsLoopbackHost(c.admin_host) && c.admin_tls_cert.empty()) {
    return w.Error("'" + c.admin_host +
                   "' is reachable beyond this host, and the admin API would carry its bearer "
                   "token in clear: set admin_tls_cert and admin_tls_key (HTTPS), or bind "
                   "127.0.0.1");
  }
  return Status::Ok();
}

Status Validate(const ProxyConfig& c, const std::string& origin) {
  auto missing = [&](const std::string& what) { return InvalidArgument(origin + ": " + what); };
  if (c.listen_port == 0)
    return missing("[proxy] listen is required (e.g. listen = 127.0.0.1:6432)");
  if (c.admin_port == 0) return missing("[proxy] admin_listen is required");
  if (c.admin_token.empty()) return missing("[proxy] admin_token_file is required");
  RETURN_IF_ERROR(ValidateAdminListen(c, origin));
  if (c.client_tls && (c.tls_cert.empty() || c.tls_key.empty() || c.client_ca.empty())) {
    return missing("[proxy] tls_cert, tls_key and client_ca are required unless client_tls = off");
  }
  if (c.clusters.empty())
    return missing("no [cluster NAME] section: clients would have nowhere to go");
  for (const auto& [name, cl] : c.clusters) {
    if (cl.port == 0) return missing("[cluster " + name + "] port is required");
    if (cl.user.empty()) return missing("[cluster " + name + "] user is required");
    if (cl.auth.verify_full && cl.auth.ca_file.empty()) {
      return missing("[cluster " + name +
                     "] tls = verify-full needs tls_ca_file (the CA the server's certificate "
                     "chains to)");
    }
  }
  if (c.client_tls && c.identities.empty()) {
    return missing("no [identity NAME] section: no client certificate would be admitted");
  }
  return Status::Ok();
}

}  // namespace

bool IdentityConfig::AllowsDatabase(const std::string& db) const {
  return databases.count("*") > 0 || databases.count(db) > 0;
}
bool IdentityConfig::AllowsRole(const std::string& role) const {
  return roles.count("*") > 0 || roles.count(role) > 0;
}

Result<ProxyConfig> ParseProxyConfig(const std::string& text, const std::string& origin) {
  ProxyConfig c;
  Where w{{origin}, std::filesystem::path(origin).parent_path().string()};
  enum class Section { kNone, kProxy, kCluster, kIdentity } section = Section::kNone;
  std::string section_name;
  IniReader reader(text, origin);
  while (true) {
    ASSIGN_OR_RETURN(std::optional<IniEntry> entry, reader.Next());
    if (!entry) break;
    static_cast<IniLocation&>(w) = reader.where();
    if (entry->is_section) {
      const std::string& kind = entry->section_kind;
      section_name = entry->section_name;
      if (kind == "proxy" && section_name.empty()) {
        section = Section::kProxy;
      } else if ((kind == "cluster" || kind == "identity") && !section_name.empty()) {
        section = kind == "cluster" ? Section::kCluster : Section::kIdentity;
        bool dup = kind == "cluster" ? c.clusters.count(section_name) > 0
                                     : c.identities.count(section_name) > 0;
        if (dup) return w.Error("[" + entry->section_text + "] appears twice");
        if (kind == "cluster") {
          c.clusters[section_name] = ClusterConfig{.name = section_name, .database = section_name};
        } else {
          c.identities[section_name] = IdentityConfig{.name = section_name};
        }
      } else {
        return w.Error("unknown section [" + entry->section_text +
                       "] (expected [proxy], [cluster NAME] or [identity NAME])");
      }
      continue;
    }
    const std::string& value = entry->value;
    switch (section) {
      case Section::kNone:
        return w.Error("key outside of any section");
      case Section::kProxy:
        RETURN_IF_ERROR(SetProxyKey(c, w, value));
        break;
      case Section::kCluster:
        RETURN_IF_ERROR(SetClusterKey(c.clusters[section_name], w, value, c.warnings));
        break;
      case Section::kIdentity:
        RETURN_IF_ERROR(SetIdentityKey(c.identities[section_name], w, value));
        break;
    }
  }
  RETURN_IF_ERROR(Validate(c, origin));
  return c;
}

Result<ProxyConfig> LoadProxyConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read proxy config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  ASSIGN_OR_RETURN(ProxyConfig config, ParseProxyConfig(ss.str(), path));
  for (const std::string& warning : config.warnings) spdlog::warn("proxy config {}", warning);
  config.route_file = path + ".routes";
  return config;
}

}  // namespace pgshift::proxy
