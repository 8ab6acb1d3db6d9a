// `pgshift --server URL cluster register --file cluster.json` and `cluster list`: clusters are
// registered with a server (source, proxies, target: secret references only, never values)
// before a team migrates them. There is no local cluster registry, so these need --server.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/remote_session.h"
#include "cli/remote_text.h"

namespace pgshift::cli {
namespace {

ServerClient ServerOrAdvice(const GlobalOptions& g) {
  return ConnectToRequiredServer(g, "clusters are registered with a pgshift server");
}

nlohmann::json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CommandFailed{InvalidArgument("--file " + path + ": cannot be read"), kBadInput};
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    throw CommandFailed{InvalidArgument("--file " + path + ": not a JSON object"), kBadInput};
  }
  return j;
}

}  // namespace

void AddClusterCommands(CLI::App& app, GlobalOptions& g) {
  auto* c = app.add_subcommand("cluster", "register and list clusters on a pgshift server");
  c->require_subcommand(1);
  c->add_flag("--json", g.json, "machine-readable output");

  auto file = std::make_shared<std::string>();
  auto reg = c->add_subcommand("register", "register a cluster described by a JSON file");
  reg->add_option("--file", *file, "the cluster's registration (see docs/openapi.yaml)")
      ->required();
  reg->add_flag("--json", g.json, "JSON output");
  reg->callback([=, &g] {
    ServerClient client = ServerOrAdvice(g);
    nlohmann::json body = ReadJsonFile(*file);
    ApiAnswer a = OrFailApi(client.Post("/v1/clusters", body), kExitForStatus);
    if (g.json) {
      std::cout << a.body.dump(2) << "\n";
      return;
    }
    std::cout << "cluster " << a.body.value("name", "") << " registered for team "
              << a.body.value("team", "") << "\nnext: pgshift --server " << client.url().ToString()
              << " migrate start NAME --cluster " << a.body.value("name", "") << "\n";
  });

  auto team = std::make_shared<std::string>();
  auto list = c->add_subcommand("list", "the clusters the token may see");
  list->add_option("--team", *team, "only this team's");
  list->add_flag("--json", g.json, "JSON output");
  list->callback([=, &g] {
    ServerClient client = ServerOrAdvice(g);
    PrintRemoteList(client, g.json, "/v1/clusters", {{"team", *team}}, "clusters",
                    RemoteClusterListText);
  });
}

}  // namespace pgshift::cli
