// DemoServer: the control plane of `pgshift demo --serve`: `pgshift server` run as a child of
// the demo (the same binary), with a configuration and a store in the demo's directory, and
// the API tokens the demo hands to the person watching. The server's output (its one
// "listening on" line, then its log) goes to DIR/server.log.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"

namespace pgshift::demo {

struct DemoServerOptions {
  std::string binary;  // the pgshift binary
  std::string dir;     // config, store, log and token files go here
  std::string listen = "127.0.0.1:0";
  std::string platform_team = "platform";
  std::vector<std::string> teams;  // each gets a [team NAME] section
  std::chrono::milliseconds ready_timeout{60000};
};

class DemoServer {
 public:
  // Writes DIR/server.ini, starts the server and waits for its "listening on" line.
  // kUnavailable (with the log's last lines) when it exits or does not get ready in time.
  static Result<std::unique_ptr<DemoServer>> Start(const DemoServerOptions& options);
  ~DemoServer();

  // "http://HOST:PORT", as the server printed it.
  const std::string& url() const { return url_; }
  std::string store_path() const { return options_.dir + "/pgshift.db"; }
  std::string log_path() const { return options_.dir + "/server.log"; }

  // `pgshift server token create --team T [--platform] --name LABEL`: the token, also written
  // to DIR/<label>.token (mode 0600), whose path is returned in `file`.
  struct Token {
    std::string text;
    std::string file;
  };
  Result<Token> CreateToken(const std::string& team, bool platform, const std::string& label);

  // SIGTERM, then waits for a clean exit (30 s; SIGKILL after). kUnavailable when it did not
  // exit 0. Idempotent.
  Status Stop();
  bool Running();

 private:
  explicit DemoServer(DemoServerOptions options) : options_(std::move(options)) {}
  std::string LogTail() const;
  DemoServerOptions options_;
  std::optional<ChildProcess> child_;
  std::string url_;
  bool stopped_ = false;
};

}  // namespace pgshift::demo
