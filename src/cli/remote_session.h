// The remote commands' connection to a pgshift server: the URL from --server, the token from
// the file --token-file (or PGSHIFT_TOKEN_FILE) names, the CA from --ca-file. Failures end
// the command (CommandFailed) with the shared exit codes.
#pragma once

#include "cli/command.h"
#include "server_client/server_client.h"

namespace pgshift::cli {

// Throws CommandFailed (exit 2) for a bad URL or an unreadable token file. Warnings (a token
// file others may read) go to stderr.
ServerClient ConnectToServer(const GlobalOptions& global);

// Ends the command with a failed API call, exiting `exit_code` as the local command does at
// the same point (a request refused before anything ran: 2; kExitForStatus: ExitCodeFor the
// status), with advice added to an unauthenticated answer (always 2).
constexpr int kExitForStatus = -1;
[[noreturn]] void FailApiCall(const Status& status, int exit_code = kBadInput);

// The answer of a call, or the end of the command (see FailApiCall).
ApiAnswer OrFailApi(Result<ApiAnswer> answer, int exit_code = kBadInput);

}  // namespace pgshift::cli
