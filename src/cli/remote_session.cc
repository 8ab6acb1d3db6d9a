// Global options of the remote commands, and the client they build from them. The token is
// never taken from an argument: the command line is visible to every local user in `ps`.
#include "cli/remote_session.h"

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "server_client/token_file.h"

namespace pgshift::cli {
namespace {

const char* kTokenAdvice =
    "put the token in a file readable only by you (chmod 600) and give --token-file FILE or "
    "set PGSHIFT_TOKEN_FILE";

bool StartsWith(const char* arg, const char* prefix) {
  return std::strncmp(arg, prefix, std::strlen(prefix)) == 0;
}

}  // namespace

void AddServerOptions(CLI::App& app, GlobalOptions& g) {
  app.add_option("--server", g.server_url,
                 "URL of a pgshift server (http://HOST:PORT): migrate and cluster commands act "
                 "through its API");
  app.add_option("--token-file", g.token_file,
                 "file holding the server's API token (default: $PGSHIFT_TOKEN_FILE)");
  app.add_option("--ca-file", g.ca_file, "CA certificate (PEM) of an https:// server");
  // Refused, with advice, rather than unknown: someone will try it.
  app.add_option_function<std::string>(
         "--token",
         [](const std::string&) {
           throw CommandFailed{
               InvalidArgument("a token on the command line is visible to every local user "
                               "(ps) and stays in your shell history; " +
                               std::string(kTokenAdvice)),
               kBadInput};
         },
         "refused: use --token-file")
      ->group("");
}

bool ServerRequested(int argc, char** argv) {
  // Options of the top-level app that take a value (so their value is not the command word).
  static const char* kValued[] = {"--store", "--server", "--token-file", "--ca-file", "--token"};
  int i = 1;
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strcmp(a, "--server") == 0 || StartsWith(a, "--server=")) return true;
    if (a[0] != '-') break;  // the command word
    for (const char* v : kValued) {
      if (std::strcmp(a, v) == 0) {
        ++i;
        break;
      }
    }
  }
  if (i >= argc) return false;
  // `slots ... --server CONNINFO` is the slots command's own option; migrate and cluster have
  // none, so there a --server after the command word is the global one (CLI11 falls through).
  if (std::strcmp(argv[i], "migrate") != 0 && std::strcmp(argv[i], "cluster") != 0) return false;
  for (int j = i + 1; j < argc; ++j) {
    if (std::strcmp(argv[j], "--server") == 0 || StartsWith(argv[j], "--server=")) return true;
  }
  return false;
}

ServerClient ConnectToServer(const GlobalOptions& g) {
  auto url = ServerUrl::Parse(g.server_url);
  if (!url.ok()) throw CommandFailed{url.status(), kBadInput};
  ServerClientOptions options;
  options.ca_file = g.ca_file;
  std::string token_file = g.token_file;
  if (token_file.empty()) {
    if (const char* env = std::getenv("PGSHIFT_TOKEN_FILE")) token_file = env;
  }
  if (!token_file.empty()) {
    auto token = ReadTokenFile(token_file);
    if (!token.ok()) throw CommandFailed{token.status(), kBadInput};
    for (const auto& w : token->warnings) std::cerr << "pgshift: warning: " << w << "\n";
    options.token = std::move(token->token);
  }
  auto client = ServerClient::Create(*url, std::move(options));
  if (!client.ok()) throw CommandFailed{client.status(), kBadInput};
  return std::move(client).value();
}

ServerClient ConnectToRequiredServer(const GlobalOptions& g, const std::string& why) {
  if (g.server_url.empty()) {
    throw CommandFailed{InvalidArgument(why + ": give --server URL (and --token-file FILE)"),
                        kBadInput};
  }
  return ConnectToServer(g);
}

void FailApiCall(const Status& status, int exit_code) {
  if (status.code() == Code::kUnauthenticated) {
    throw CommandFailed{Status(status.code(), status.message() + "; " + kTokenAdvice), kBadInput};
  }
  throw CommandFailed{status, exit_code == kExitForStatus ? ExitCodeFor(status) : exit_code};
}

ApiAnswer OrFailApi(Result<ApiAnswer> answer, int exit_code) {
  if (!answer.ok()) FailApiCall(answer.status(), exit_code);
  return std::move(answer).value();
}

void PrintRemoteList(ServerClient& client, bool json, const std::string& path,
                     const std::map<std::string, std::string>& filters, const std::string& member,
                     RemoteListText text) {
  std::map<std::string, std::string> query;
  for (const auto& [key, value] : filters) {
    if (!value.empty()) query[key] = value;
  }
  nlohmann::json items =
      OrFailApi(client.Get(path, query), 1).body.value(member, nlohmann::json::array());
  std::cout << (json ? items.dump(2) + "\n" : text(items, client.url().ToString()));
}

}  // namespace pgshift::cli
