// Parsing and validating the server's configuration file.
#include "server/server_config.h"

#include <fstream>
#include <regex>
#include <sstream>

#include "common/ini_file.h"
#include "common/loopback_host.h"

namespace pgshift::server {
namespace {

using Where = IniLocation;

// "90s", "15m", "1h", "2d" or plain seconds.
Result<double> ParseDurationSeconds(const Where& w, const std::string& v) {
  static const std::regex re("^([0-9]+)(s|m|h|d)?$");
  std::smatch m;
  if (!std::regex_match(v, m, re)) {
    return w.Error("'" + v + "' is not a duration (e.g. 90s, 30m, 1h)");
  }
  double n = std::stod(m[1].str());
  std::string unit = m[2].str();
  if (unit == "m") n *= 60;
  if (unit == "h") n *= 3600;
  if (unit == "d") n *= 86400;
  if (n <= 0) return w.Error("must be longer than 0");
  return n;
}

Result<std::pair<std::string, int>> ParseHostPort(const std::string& v) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("'" + v + "' is not HOST:PORT");
  }
  std::string host = v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = v.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoi(port) > 65535) {
    return InvalidArgument("'" + v + "': the port is not a number from 0 to 65535");
  }
  return std::pair{host, std::stoi(port)};
}

bool ValidTeamName(const std::string& name) {
  static const std::regex ok("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
  return std::regex_match(name, ok);
}

Status ServerKey(ServerConfig& c, const Where& w, const std::string& key, const std::string& v) {
  if (key == "listen") {
    auto hp = ParseHostPort(v);
    if (!hp.ok()) return w.Error(hp.status().message());
    c.listen_host = hp->first;
    c.listen_port = hp->second;
  } else if (key == "store") {
    c.store = v;
  } else if (key == "platform_team") {
    if (!ValidTeamName(v)) return w.Error("'" + v + "' is not a team name");
    c.platform_team = v;
  } else if (key == "tls_cert_file") {
    c.tls_cert_file = v;
  } else if (key == "tls_key_file") {
    c.tls_key_file = v;
  } else if (key == "client_ca_file") {
    c.client_ca_file = v;
  } else if (key == "allow_plain_http_beyond_loopback") {
    ASSIGN_OR_RETURN(c.allow_plain_http_beyond_loopback, ParseIniBool(w, v));
  } else {
    return w.Error(
        "unknown key in [server] (expected listen, store, platform_team, tls_cert_file, "
        "tls_key_file, client_ca_file, allow_plain_http_beyond_loopback)");
  }
  return Status::Ok();
}

Status TeamKey(TeamConfig& t, const Where& w, const std::string& key, const std::string& v) {
  if (key == "approval") {
    if (v != "required" && v != "off") return w.Error("'" + v + "' is not required or off");
    t.approval_required = v == "required";
  } else if (key == "approval_valid_for") {
    ASSIGN_OR_RETURN(t.approval_valid_for_s, ParseDurationSeconds(w, v));
  } else if (key == "webhook") {
    if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
      // The value is not repeated: a webhook URL often carries its receiver's key.
      return w.Error("not an http:// or https:// URL (give the receiver's full URL)");
    }
    t.webhooks.push_back(v);
  } else if (key == "client_cert_cn") {
    t.client_cert_cns.push_back(v);
  } else {
    return w.Error("unknown key in [team " + t.name +
                   "] (expected approval, approval_valid_for, webhook, client_cert_cn)");
  }
  return Status::Ok();
}

}  // namespace

std::string ServerConfig::TeamOfCertificate(const std::string& common_name) const {
  if (common_name.empty()) return "";
  for (const auto& [name, team] : teams) {
    for (const std::string& cn : team.client_cert_cns) {
      if (cn == common_name) return name;
    }
  }
  return "";
}

TeamConfig ServerConfig::Team(const std::string& name) const {
  auto it = teams.find(name);
  if (it != teams.end()) return it->second;
  TeamConfig t;
  t.name = name;
  return t;
}

Result<ServerConfig> ParseServerConfig(const std::string& text, const std::string& origin) {
  ServerConfig c;
  enum class Section { kNone, kServer, kTeam, kFreeze } section = Section::kNone;
  std::string freeze;
  bool server_seen = false;
  std::string team;
  std::map<std::string, std::string> cn_owner;  // a CN acts for one team only
  IniReader reader(text, origin);
  while (true) {
    ASSIGN_OR_RETURN(std::optional<IniEntry> entry, reader.Next());
    if (!entry) break;
    const Where& w = reader.where();
    if (entry->is_section) {
      const std::string& kind = entry->section_kind;
      const std::string& name = entry->section_name;
      if (kind == "server" && name.empty()) {
        if (server_seen) return w.Error("[server] appears twice");
        server_seen = true;
        section = Section::kServer;
      } else if (kind == "team" && !name.empty()) {
        if (!ValidTeamName(name)) {
          return w.Error("'" + name + "' is not a team name (letters, digits, '_', '.', '-')");
        }
        if (c.teams.count(name)) return w.Error("[team " + name + "] appears twice");
        c.teams[name] = TeamConfig{.name = name};
        team = name;
        section = Section::kTeam;
      } else if (kind == "freeze" && !name.empty()) {
        freeze = name;
        section = Section::kFreeze;
      } else {
        return w.Error("unknown section [" + entry->section_text +
                       "] (expected [server], [team NAME] or [freeze NAME])");
      }
      continue;
    }
    const std::string& value = entry->value;
    // The scheduler's keys (limits, cutover windows, freezes) are read by scheduler_config.
    Result<bool> scheduler_key = false;
    if (section == Section::kServer) {
      scheduler_key = ApplySchedulerServerKey(c.scheduler, w.key, value);
    } else if (section == Section::kTeam) {
      scheduler_key = ApplySchedulerTeamKey(c.scheduler, team, w.key, value);
    } else if (section == Section::kFreeze) {
      Status f = ApplyFreezeKey(c.scheduler, freeze, w.key, value);
      if (!f.ok()) return w.Error(f.message());
      continue;
    }
    if (!scheduler_key.ok()) return w.Error(scheduler_key.status().message());
    if (*scheduler_key) continue;
    if (section == Section::kServer) {
      RETURN_IF_ERROR(ServerKey(c, w, w.key, value));
      c.key_lines[w.key] = w.line;
    } else if (section == Section::kTeam) {
      RETURN_IF_ERROR(TeamKey(c.teams[team], w, w.key, value));
      if (w.key == "client_cert_cn") {
        auto [it, added] = cn_owner.emplace(value, team);
        if (!added && it->second != team) {
          return w.Error("'" + value + "' already acts for team " + it->second);
        }
      }
    } else {
      return w.Error("outside a section: put it under [server] or [team NAME]");
    }
  }
  Status freezes = ValidateFreezes(c.scheduler);
  if (!freezes.ok()) return InvalidArgument(origin + ": " + freezes.message());
  std::vector<std::string> ignored;
  RETURN_IF_ERROR(ValidateServerConfig(c, origin, &ignored));
  return c;
}

Status ValidateServerConfig(const ServerConfig& c, const std::string& origin,
                            std::vector<std::string>* warnings) {
  // "origin:line" of the key when the file set it, else "origin".
  auto at = [&](const std::string& key) {
    auto it = c.key_lines.find(key);
    return it == c.key_lines.end() ? origin : origin + ":" + std::to_string(it->second);
  };
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    const std::string key = c.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file";
    return InvalidArgument(at(key) + ": " + key +
                           ": tls_cert_file and tls_key_file go together: set "
                           "both (HTTPS) or neither");
  }
  if (!c.client_ca_file.empty() && !c.tls()) {
    return InvalidArgument(at("client_ca_file") +
                           ": client_ca_file: client certificates need TLS: set tls_cert_file "
                           "and tls_key_file");
  }
  if (!c.tls() && !IsLoopbackHost(c.listen_host)) {
    if (!c.allow_plain_http_beyond_loopback) {
      return InvalidArgument(at("listen") + ": listen: '" + c.listen_host +
                             "' is reachable beyond this host, and the API would carry bearer "
                             "tokens in clear: set tls_cert_file and tls_key_file, bind "
                             "127.0.0.1, or set allow_plain_http_beyond_loopback = on");
    }
    warnings->push_back("serving plain HTTP on " + c.listen_host +
                        ", beyond loopback: bearer tokens travel in clear");
  }
  return Status::Ok();
}

Result<ServerConfig> LoadServerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument(path + ": cannot read the server configuration");
  std::stringstream all;
  all << in.rdbuf();
  return ParseServerConfig(all.str(), path);
}

Status ApplyListen(ServerConfig& config, const std::string& host_port) {
  auto hp = ParseHostPort(host_port);
  if (!hp.ok()) return InvalidArgument("--listen: " + hp.status().message());
  config.listen_host = hp->first;
  config.listen_port = hp->second;
  config.key_lines.erase("listen");  // no longer the file's line
  return Status::Ok();
}

}  // namespace pgshift::server
