// The remote commands' connection to a pgshift server: the URL from --server, the token from
// the file --token-file (or PGSHIFT_TOKEN_FILE) names, the CA from --ca-file. Failures end
// the command (CommandFailed) with the shared exit codes.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "server_client/server_client.h"

namespace pgshift::cli {

// Throws CommandFailed (exit 2) for a bad URL or an unreadable token file. Warnings (a token
// file others may read) go to stderr.
ServerClient ConnectToServer(const GlobalOptions& global);
// The same for commands that exist only on a server: without --server, the command ends with
// "<why>: give --server URL (and --token-file FILE)" (exit 2).
ServerClient ConnectToRequiredServer(const GlobalOptions& global, const std::string& why);

// Ends the command with a failed API call, exiting `exit_code` as the local command does at
// the same point (a request refused before anything ran: 2; kExitForStatus: ExitCodeFor the
// status), with advice added to an unauthenticated answer (always 2).
constexpr int kExitForStatus = -1;
[[noreturn]] void FailApiCall(const Status& status, int exit_code = kBadInput);

// The answer of a call, or the end of the command (see FailApiCall).
ApiAnswer OrFailApi(Result<ApiAnswer> answer, int exit_code = kBadInput);

// The body of every remote `... list`: GET `path` with the filters that are set, then print the
// array the answer holds under `member`, as JSON with --json, else as `text(items, server URL)`.
using RemoteListText = std::string (*)(const nlohmann::json& items, const std::string& where);
void PrintRemoteList(ServerClient& client, bool json, const std::string& path,
                     const std::map<std::string, std::string>& filters, const std::string& member,
                     RemoteListText text);

}  // namespace pgshift::cli
