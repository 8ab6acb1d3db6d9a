// ServerConfig: what `pgshift server` serves and for whom, read from an INI-like file in the
// proxy's style (docs/server.md): [server] for the listener, store, TLS and the platform team;
// [team NAME] for a team's approval rule, webhooks and client-certificate names. Every
// complaint is `file:line: key: problem`. No secret lives here: the TLS key is a file path.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/scheduler_config.h"

namespace pgshift::server {

struct TeamConfig {
  std::string name;
  bool approval_required = false;  // approval = required | off
  double approval_valid_for_s = 3600;
  std::vector<std::string> webhooks;
  std::vector<std::string> client_cert_cns;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;  // 0: a free port
  std::string store;    // "" : as the CLI finds it
  std::string platform_team = "platform";
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;
  bool allow_plain_http_beyond_loopback = false;
  SchedulerConfig scheduler;  // limits, cutover windows, freezes (scheduler_config.h)
  std::map<std::string, TeamConfig> teams;
  // The line each [server] key was set on, for the checks across keys ("" origin: flags).
  std::map<std::string, int> key_lines;

  bool tls() const { return !tls_cert_file.empty(); }
  // The team a verified client certificate with this CN acts for; "" when none.
  std::string TeamOfCertificate(const std::string& common_name) const;
  // The team's configuration (a default one for a team the file does not name).
  TeamConfig Team(const std::string& name) const;
};

// `origin` names the file in errors. kInvalidArgument "origin:line: key: problem".
Result<ServerConfig> ParseServerConfig(const std::string& text, const std::string& origin);
Result<ServerConfig> LoadServerConfig(const std::string& path);
// "HOST:PORT" (the --listen flag) into the config; kInvalidArgument naming the flag.
Status ApplyListen(ServerConfig& config, const std::string& host_port);
// Checks that need the whole file: TLS files go together, plain HTTP beyond loopback needs
// allow_plain_http_beyond_loopback (answered with a warning in `warnings`).
Status ValidateServerConfig(const ServerConfig& config, const std::string& origin,
                            std::vector<std::string>* warnings);

}  // namespace pgshift::server
