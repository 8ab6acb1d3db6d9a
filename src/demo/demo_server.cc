// `pgshift server` as the demo's child.
#include "demo/demo_server.h"

#include <csignal>
#include <deque>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "demo/secret_file.h"

namespace pgshift::demo {

Result<std::unique_ptr<DemoServer>> DemoServer::Start(const DemoServerOptions& o) {
  std::unique_ptr<DemoServer> s(new DemoServer(o));
  const std::string config = o.dir + "/server.ini";
  {
    std::ofstream out(config);
    out << "# pgshift demo --serve: the control plane of the demo's three clusters\n"
        << "[server]\nlisten = " << o.listen << "\nstore = " << s->store_path()
        << "\nplatform_team = " << o.platform_team << "\n";
    for (const auto& team : o.teams) out << "\n[team " << team << "]\napproval = off\n";
    if (!out) return Unavailable("demo: cannot write " + config);
  }
  ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Start({o.binary, "--store", s->store_path(),
                                                            "server", "--config", config},
                                                           {.stdout_path = s->log_path()}));
  s->child_.emplace(std::move(child));
  const auto deadline = std::chrono::steady_clock::now() + o.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream log(s->log_path());
    std::string line;
    while (std::getline(log, line)) {
      if (line.rfind("listening on ", 0) == 0) {
        s->url_ = line.substr(std::string("listening on ").size());
        return s;
      }
    }
    if (!s->child_->Running()) {
      return Unavailable("demo: pgshift server exited before it was ready: " + s->LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Unavailable("demo: pgshift server not ready after " +
                     std::to_string(o.ready_timeout.count() / 1000) + " s: " + s->LogTail());
}

DemoServer::~DemoServer() { (void)Stop(); }

Result<DemoServer::Token> DemoServer::CreateToken(const std::string& team, bool platform,
                                                  const std::string& label) {
  std::vector<std::string> argv = {options_.binary, "--store", store_path(), "server", "token",
                                   "create",        "--team",  team,         "--name", label};
  if (platform) argv.push_back("--platform");
  ASSIGN_OR_RETURN(CommandOutput out, RunCommand(argv, {.timeout = std::chrono::seconds(30)}));
  // Its output is the token on a line of its own (warnings may come on stderr around it).
  static const std::regex kToken("^pgs_[A-Za-z0-9_-]{43}$");
  std::istringstream lines(out.output);
  std::string line, token;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, kToken)) token = line;
  }
  if (out.exit_code != 0 || token.empty()) {
    // The output is not shown: it might hold the token.
    return Unavailable("demo: pgshift server token create --team " + team + " failed (exit " +
                       std::to_string(out.exit_code) + ")");
  }
  Token t{token, options_.dir + "/" + label + ".token"};
  RETURN_IF_ERROR(WriteSecretFile(t.file, t.text));
  return t;
}

Status DemoServer::Stop() {
  if (stopped_ || !child_) return Status::Ok();
  stopped_ = true;
  child_->Signal(SIGTERM);
  auto code = child_->Wait(std::chrono::seconds(30));
  if (!code) {
    child_->Signal(SIGKILL);
    (void)child_->Wait(std::chrono::seconds(5));
    return Unavailable("demo: pgshift server did not stop within 30 s of SIGTERM");
  }
  if (*code != 0) {
    return Unavailable("demo: pgshift server exited " + std::to_string(*code) + " on SIGTERM");
  }
  return Status::Ok();
}

bool DemoServer::Running() { return child_ && !stopped_ && child_->Running(); }

std::string DemoServer::LogTail() const {
  std::ifstream log(log_path());
  std::deque<std::string> last;
  std::string line;
  while (std::getline(log, line)) {
    last.push_back(line);
    if (last.size() > 5) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += (out.empty() ? "" : " | ") + l;
  return out.empty() ? "(no output; see " + log_path() + ")" : out;
}

}  // namespace pgshift::demo
